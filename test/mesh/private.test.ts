// Every run is a private mesh: a peer without the run's swarm key cannot complete a connection.
import '../../src/polyfill.js'
import { strict as assert } from 'node:assert'
import { MeshNode, newSwarmKey } from '../../src/mesh/node.js'

const events = { onPeerConnected: () => {}, onPeerDisconnected: () => {}, onGossip: () => {}, onMessages: () => {} }

describe('mesh: private by swarm key', function () {
  const key = newSwarmKey()
  let member: MeshNode
  const others: MeshNode[] = []

  before(async () => { member = await MeshNode.create({ swarmKey: key }, events) })
  after(async () => { await Promise.all([member, ...others].map(async n => { await n.stop() })) })

  it('makes keys in the swarm.key format, different every time', () => {
    const text = new TextDecoder().decode(key)
    assert.match(text, /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}$/)
    assert.notDeepEqual(newSwarmKey(), key)
  })

  it('lets a peer with the same key in', async () => {
    const peer = await MeshNode.create({ swarmKey: key }, events)
    others.push(peer)
    assert.equal(await peer.dial(member.multiaddrs[0], { signal: AbortSignal.timeout(10_000) }), member.peerId)
  })

  it('refuses a peer with another key', async () => {
    const stranger = await MeshNode.create({ swarmKey: newSwarmKey() }, events)
    others.push(stranger)
    await assert.rejects(stranger.dial(member.multiaddrs[0], { signal: AbortSignal.timeout(5000) }))
    assert.equal(member.isLinked(stranger.peerId), false)
  })

  it('refuses a peer with no key', async () => {
    const open = await MeshNode.create({}, events)
    others.push(open)
    await assert.rejects(open.dial(member.multiaddrs[0], { signal: AbortSignal.timeout(3000) }))
    assert.equal(member.isLinked(open.peerId), false)
  })
})
