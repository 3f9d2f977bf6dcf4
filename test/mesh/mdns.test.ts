// mDNS discovery across a real link: peers in separate network namespaces, given no address of
// one another, find each other by mDNS alone and talk on the task stream. The swarm key still
// keeps strangers out, and a host where mDNS cannot work says so without falling over.
// Needs root (network namespaces); skipped, saying why, otherwise.
import { strict as assert } from 'node:assert'
import { fileURLToPath } from 'node:url'
import { labPerTest, type NetnsHost, type NetnsLab, type NetnsProcess } from '../helpers/netns.js'
import { newSwarmKey } from '../../src/mesh/node.js'

const PEER_SCRIPT = fileURLToPath(new URL('./mdns-peer.js', import.meta.url))

interface Peer {
  id: string
  process: NetnsProcess
}

/** The peer script on a host, listening on the host's link address; resolves once it is up. */
async function startPeer (lab: NetnsLab, host: NetnsHost, swarmKey: Uint8Array): Promise<Peer> {
  const peerProcess = lab.spawnNode(host, [PEER_SCRIPT, `/ip4/${host.address}/tcp/0`, Buffer.from(swarmKey).toString('base64')], {
    // The mesh reports discovery failures on its logger; the test reads them from stderr.
    DEBUG: 'scoop:mesh*'
  })
  const [, id] = await peerProcess.waitForLine(/^ready (\S+)$/)
  return { id, process: peerProcess }
}

const saidHello = async (to: Peer, from: Peer): Promise<unknown> => await to.process.waitForLine(new RegExp(`^hello ${from.id}$`))
const wentDirect = async (peer: Peer, other: Peer): Promise<unknown> => await peer.process.waitForLine(new RegExp(`^direct ${other.id}$`))
const saidDirectHello = async (to: Peer, from: Peer): Promise<unknown> => await to.process.waitForLine(new RegExp(`^direct hello ${from.id}$`))
const failedToDial = async (dialer: Peer, target: Peer): Promise<unknown> =>
  await dialer.process.waitForLine(new RegExp(`dial to discovered peer ${target.id} failed`), { stream: 'stderr' })
const hasLinked = (peer: Peer, other: Peer): boolean => peer.process.stdout.includes(`linked ${other.id}`)

describe('mesh: mDNS discovery across a real link', function () {
  /** A lab for each test, cleaned up after it whatever happens. */
  const makeLab = labPerTest()

  it('two peers on a veth link find each other by mDNS alone, exchange a hello, and go on over a direct socket', async () => {
    const pair = makeLab({ hosts: 2, topology: 'veth' })
    const key = newSwarmKey()
    const [a, b] = await Promise.all(pair.hosts.map(async host => await startPeer(pair, host, key)))
    await Promise.all([saidHello(a, b), saidHello(b, a)])
    // Each sends a second hello once it sends on the direct socket, across the link.
    await Promise.all([wentDirect(a, b), wentDirect(b, a)])
    await Promise.all([saidDirectHello(a, b), saidDirectHello(b, a)])
  })

  it('a peer with another swarm key on the same bridge is never linked', async () => {
    const trio = makeLab({ hosts: 3, topology: 'bridge' })
    const key = newSwarmKey()
    const [hostA, hostB, hostStranger] = trio.hosts
    const [a, b, stranger] = await Promise.all([
      startPeer(trio, hostA, key), startPeer(trio, hostB, key), startPeer(trio, hostStranger, newSwarmKey())
    ])
    await Promise.all([saidHello(a, b), saidHello(b, a)])
    // Every side discovers every other and dials it: wait until each dial across the key boundary
    // has failed. Usually within milliseconds; but pnet cannot tell a wrong key, so a side may
    // wait for a garbage length's worth of bytes until libp2p's address dial timeout (6 s).
    await Promise.all([failedToDial(stranger, a), failedToDial(stranger, b), failedToDial(a, stranger), failedToDial(b, stranger)])
    for (const member of [a, b]) {
      assert.equal(hasLinked(member, stranger), false, `${member.id} linked the stranger`)
      assert.equal(hasLinked(stranger, member), false, `the stranger linked ${member.id}`)
    }
    assert.deepEqual(stranger.process.stdout.filter(line => line.startsWith('hello')), [], 'no message reached the stranger')
    for (const peer of [a, b, stranger]) assert.ok(peer.process.running, `${peer.id} is still running`)
  })

  it('a host without a multicast route logs that mDNS cannot work and keeps running', async () => {
    const unrouted = makeLab({ hosts: 2, multicastRoute: false })
    const lonely = await startPeer(unrouted, unrouted.hosts[0], newSwarmKey())
    await lonely.process.waitForLine(/mDNS query could not be sent/, { stream: 'stderr' })
    assert.ok(lonely.process.running)
    process.kill(lonely.process.pid, 'SIGTERM')
    assert.equal(await lonely.process.exited, 0, 'it stops cleanly')
  })
})
