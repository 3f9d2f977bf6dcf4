// Joining a mesh over real loopback links: a dial that stalls (the peer accepted the connection
// but never answered, as a peer busy for seconds on a loaded machine does) is given up and made
// again, and an address that leads nowhere does not fail a join another address made.
import '../../src/polyfill.js'
import { strict as assert } from 'node:assert'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { PeerHost } from '../../src/runtime/peer-host.js'
import { newSwarmKey } from '../../src/mesh/node.js'

/**
 * A TCP listener on loopback that holds its first `swallow` connections open without a byte
 * either way, and pipes the later ones to `target` (host:port), or holds them all when `target`
 * is undefined.
 */
async function stallingListener (swallow: number, target?: { host: string, port: number }): Promise<{ server: Server, port: number, accepted: number }> {
  const held: Socket[] = []
  const piped: Socket[] = []
  const state = { server: createServer(), port: 0, accepted: 0 }
  state.server.on('connection', socket => {
    state.accepted++
    socket.on('error', () => {})
    if (target === undefined || state.accepted <= swallow) {
      held.push(socket)
      return
    }
    const upstream = createConnection(target.port, target.host)
    upstream.on('error', () => { socket.destroy() })
    socket.on('close', () => { upstream.destroy() })
    upstream.on('close', () => { socket.destroy() })
    socket.pipe(upstream).pipe(socket)
    piped.push(socket, upstream)
  })
  state.server.on('close', () => { for (const s of [...held, ...piped]) s.destroy() })
  await new Promise<void>(resolve => state.server.listen(0, '127.0.0.1', resolve))
  state.port = (state.server.address() as { port: number }).port
  return state
}

function tcpTarget (multiaddr: string): { host: string, port: number } {
  const m = /^\/ip4\/([\d.]+)\/tcp\/(\d+)/.exec(multiaddr)
  assert.ok(m != null, `a TCP address: ${multiaddr}`)
  return { host: m[1], port: Number(m[2]) }
}

describe('joining a mesh (PeerHost.joinAny)', function () {
  this.timeout(60_000)
  const key = newSwarmKey()
  let member: PeerHost
  const started: PeerHost[] = []
  const listeners: Server[] = []

  before(async () => { member = await PeerHost.start({ workerName: 'member', swarmKey: key }) })
  after(async () => {
    for (const l of listeners) l.close()
    await Promise.all([member, ...started].map(async h => { await h.stop() }))
  })

  it('gives up a dial that stalls and joins on the next try', async () => {
    const proxy = await stallingListener(1, tcpTarget(member.mesh.multiaddrs[0]))
    listeners.push(proxy.server)
    const warnings: string[] = []
    const joiner = await PeerHost.start({ workerName: 'joiner', swarmKey: key, onWarning: message => { warnings.push(message) } })
    started.push(joiner)
    await joiner.joinAny([`/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${member.self.id}`], 30_000, 1000)
    assert.ok(proxy.accepted >= 2, `a second connection after the stalled one (${proxy.accepted} accepted)`)
    assert.equal(warnings.length, 1, `the stalled dial is reported once: ${warnings.join(' | ')}`)
    assert.match(warnings[0], /^could not reach peer \/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\w+: .*; trying again for up to \d+ s$/)
    assert.ok(joiner.linkedPeers().includes(member.self.id), 'linked to the member')
    assert.equal(joiner.brokerId(), member.brokerId(), 'one broker for both: the joiner heard the member')
  })

  it('joins through one address while another leads to a peer that never answers', async () => {
    const blackHole = await stallingListener(Infinity)
    listeners.push(blackHole.server)
    // Another peer's address (libp2p would merge two dials to the same peer into one).
    const absent = await PeerHost.start({ workerName: 'absent', swarmKey: key })
    const joiner = await PeerHost.start({ workerName: 'joiner-2', swarmKey: key })
    started.push(absent, joiner)
    await joiner.joinAny([`/ip4/127.0.0.1/tcp/${blackHole.port}/p2p/${absent.self.id}`, member.mesh.multiaddrs[0]], 30_000)
    assert.ok(joiner.linkedPeers().includes(member.self.id), 'linked to the member')
    assert.equal(blackHole.accepted, 1, 'the stalled address was dialed too')
  })

  it('throws what went wrong once the time to try is over', async () => {
    const blackHole = await stallingListener(Infinity)
    listeners.push(blackHole.server)
    const joiner = await PeerHost.start({ workerName: 'joiner-3', swarmKey: key })
    started.push(joiner)
    await assert.rejects(joiner.joinAny([`/ip4/127.0.0.1/tcp/${blackHole.port}/p2p/${member.self.id}`], 1500, 500),
      /could not reach peer \/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\w+: .*timeout/)
    assert.ok(blackHole.accepted >= 2, `tried more than once (${blackHole.accepted} connections)`)
  })
})
