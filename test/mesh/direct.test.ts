// Direct links: a linked pair moves its frames from the libp2p stream to one TLS socket (a
// pre-shared key offered over libp2p), keeps their order across the switch, stays on libp2p
// when the link is off, and reports the peer gone when the socket dies.
import '../../src/polyfill.js'
import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import { MeshNode, type MeshEvents } from '../../src/mesh/node.js'
import { DirectLinkServer, openDirectLink } from '../../src/mesh/direct-link.js'
import type { PeerId, WireMessage } from '../../src/core/wire.js'

const WAIT_MS = 20_000

/** A node whose received `load` numbers, connects and disconnects a test can wait on. */
class RecordingNode {
  readonly received = new Map<PeerId, number[]>()
  readonly disconnected = new Set<PeerId>()
  private readonly waiters = new Set<() => void>()
  node!: MeshNode

  static async create (direct?: boolean): Promise<RecordingNode> {
    const recorder = new RecordingNode()
    const events: MeshEvents = {
      onPeerConnected: () => { recorder.wake() },
      onPeerDisconnected: peer => { recorder.disconnected.add(peer); recorder.wake() },
      onGossip: () => {},
      onMessages: (from, _run, messages: WireMessage[]) => {
        const list = recorder.received.get(from) ?? []
        for (const msg of messages) if (msg.t === 'load') list.push(msg.n)
        recorder.received.set(from, list)
        recorder.wake()
      }
    }
    recorder.node = await MeshNode.create(direct === undefined ? {} : { direct }, events)
    return recorder
  }

  /** Resolves once `ready()` holds (checked at each event of this node and each timer tick). */
  async until (ready: () => boolean, what: string, withinMs = WAIT_MS): Promise<void> {
    const deadline = Date.now() + withinMs
    while (!ready()) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no ${what} within ${withinMs} ms`)
      await new Promise<void>(resolve => {
        const done = (): void => { clearTimeout(timer); this.waiters.delete(done); resolve() }
        // Direct-link state changes without an event of ours: look again now and then too.
        const timer = setTimeout(done, Math.min(left, 50))
        this.waiters.add(done)
      })
    }
  }

  private wake (): void { for (const waiter of [...this.waiters]) waiter() }
}

/**
 * Sends numbered `load` messages in bursts each turn until `stop()` holds, then a last burst;
 * returns how many. Each burst also carries 256 KiB, which keeps libp2p's stream (noise in
 * JavaScript) behind the socket: frames sent on the socket after the switch then arrive
 * before the sender's last frames on the stream, and must wait for them.
 */
async function sendBurstsUntil (from: MeshNode, to: PeerId, stop: () => boolean): Promise<number> {
  let n = 0
  const bulk: WireMessage = { t: 'result', seq: 0, ok: true, data: new Uint8Array(256 * 1024), ms: 0 }
  const deadline = Date.now() + WAIT_MS
  for (let turn = 0; turn < 5000 && Date.now() < deadline; turn++) {
    const last = stop()
    for (let i = 0; i < 50; i++) from.send(to, { t: 'load', n: n++ })
    from.send(to, bulk)
    if (last) break
    await new Promise(resolve => setImmediate(resolve))
  }
  return n
}

describe('mesh: direct links', function () {
  this.timeout(60_000)
  const nodes: RecordingNode[] = []
  const create = async (direct?: boolean): Promise<RecordingNode> => {
    const r = await RecordingNode.create(direct)
    nodes.push(r)
    return r
  }
  /**
   * Two nodes, the first with the smaller id (the offerer of their direct link). Ids are
   * random: pairs are made until one is in that order (1 in 2 each time, by symmetry).
   */
  const orderedPair = async (firstDirect?: boolean, secondDirect?: boolean): Promise<[RecordingNode, RecordingNode]> => {
    for (let i = 0; i < 20; i++) {
      const [first, second] = [await create(firstDirect), await create(secondDirect)]
      if (first.node.peerId < second.node.peerId) return [first, second]
    }
    throw new Error('20 pairs of random ids in the wrong order')
  }
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async r => { await r.node.stop() })) })

  it('moves both directions of a link to the socket, in order across the switch', async () => {
    const a = await create()
    const b = await create()
    await a.node.dial(b.node.multiaddrs[0], { signal: AbortSignal.timeout(10_000) })
    await b.until(() => b.node.isLinked(a.node.peerId), 'link from a')
    const bothDirect = (): boolean => a.node.sendsDirect(b.node.peerId) && b.node.sendsDirect(a.node.peerId)
    // Bursts from the first turn of the link, so messages are on the stream and the socket at once.
    const [fromA, fromB] = await Promise.all([
      sendBurstsUntil(a.node, b.node.peerId, bothDirect),
      sendBurstsUntil(b.node, a.node.peerId, bothDirect)
    ])
    assert.ok(bothDirect(), 'the link did not go direct')
    await b.until(() => (b.received.get(a.node.peerId)?.length ?? 0) >= fromA, `${fromA} messages at b`)
    await a.until(() => (a.received.get(b.node.peerId)?.length ?? 0) >= fromB, `${fromB} messages at a`)
    assert.deepEqual(b.received.get(a.node.peerId), Array.from({ length: fromA }, (_, i) => i))
    assert.deepEqual(a.received.get(b.node.peerId), Array.from({ length: fromB }, (_, i) => i))
  })

  for (const offIsOfferer of [true, false]) {
    it(`stays on the libp2p stream, and works, when ${offIsOfferer ? 'the offerer (the smaller id)' : 'the other side'} has direct links off`, async () => {
      const [on, off] = offIsOfferer ? (await orderedPair(false, true)).reverse() : await orderedPair(true, false)
      await on.node.dial(off.node.multiaddrs[0], { signal: AbortSignal.timeout(10_000) })
      await off.until(() => off.node.isLinked(on.node.peerId), 'the link')
      on.node.send(off.node.peerId, { t: 'load', n: 1 })
      off.node.send(on.node.peerId, { t: 'load', n: 2 })
      await off.until(() => off.received.get(on.node.peerId)?.length === 1, 'a message at the node with direct links off')
      await on.until(() => on.received.get(off.node.peerId)?.length === 1, 'a message at the other')
      assert.equal(on.node.sendsDirect(off.node.peerId), false)
      assert.equal(off.node.sendsDirect(on.node.peerId), false)
    })
  }

  it('stays on the libp2p stream when the opener gives the socket up before it switches', async () => {
    const [offerer, opener] = await orderedPair()
    // As when the opener's connect times out just as its handshake ends: it closes the socket
    // without sending on it.
    let gaveUp!: () => void
    const givenUp = new Promise<void>(resolve => { gaveUp = resolve })
    ;(opener.node as any).useDirectSocket = (_link: unknown, socket: import('node:tls').TLSSocket) => { socket.destroy(); gaveUp() }
    await opener.node.dial(offerer.node.multiaddrs[0], { signal: AbortSignal.timeout(10_000) })
    await givenUp
    const offererLink = (): any => (offerer.node as any).links.get(opener.node.peerId)
    await offerer.until(() => offererLink()?.socket === undefined, 'the offerer forgetting the socket')
    opener.node.send(offerer.node.peerId, { t: 'load', n: 1 })
    offerer.node.send(opener.node.peerId, { t: 'load', n: 2 })
    await offerer.until(() => offerer.received.get(opener.node.peerId)?.length === 1, 'a message at the offerer')
    await opener.until(() => opener.received.get(offerer.node.peerId)?.length === 1, 'a message at the opener')
    assert.equal(offerer.disconnected.size + opener.disconnected.size, 0, 'a side reported the other gone')
    assert.equal(offerer.node.sendsDirect(opener.node.peerId), false)
  })

  it('reports the peer gone on both sides when the socket dies', async () => {
    const a = await create()
    const b = await create()
    await a.node.dial(b.node.multiaddrs[0], { signal: AbortSignal.timeout(10_000) })
    await a.until(() => a.node.sendsDirect(b.node.peerId) && b.node.sendsDirect(a.node.peerId), 'a direct link')
    // As when the peer's process dies: its socket closes under the link.
    ;(a.node as any).links.get(b.node.peerId).socket.destroy()
    await a.until(() => a.disconnected.has(b.node.peerId), 'a disconnect at a')
    await b.until(() => b.disconnected.has(a.node.peerId), 'a disconnect at b')
    assert.equal(a.node.isLinked(b.node.peerId), false)
    assert.equal(b.node.isLinked(a.node.peerId), false)
  })
})

describe('mesh: direct link server', function () {
  this.timeout(30_000)
  let server: DirectLinkServer
  beforeEach(async () => { server = await DirectLinkServer.listen('127.0.0.1') })
  afterEach(async () => { await server.close() })
  const connect = async (offer: { port: number, id: Uint8Array, secret: Uint8Array }): ReturnType<typeof openDirectLink> =>
    await openDirectLink('127.0.0.1', offer, 10_000)

  it('hands an offer its socket, once; the sockets talk', async () => {
    let accepted: ((s: import('node:tls').TLSSocket) => void) | undefined
    const got = new Promise<import('node:tls').TLSSocket>(resolve => { accepted = resolve })
    const offer = server.offer(s => { accepted?.(s) })
    const client = await connect(offer)
    const serverSide = await got
    const echoed = new Promise<string>(resolve => { client.once('data', d => { resolve(d.toString()) }) })
    serverSide.on('data', d => serverSide.write(d))
    client.write('ping')
    assert.equal(await echoed, 'ping')
    client.destroy()
    await assert.rejects(connect(offer), 'an offer is good for one socket')
  })

  it('refuses a socket with the wrong key, an unknown id, or a withdrawn offer', async () => {
    let accepts = 0
    const offer = server.offer(() => { accepts++ })
    await assert.rejects(connect({ ...offer, secret: randomBytes(32) }))
    await assert.rejects(connect({ ...offer, id: randomBytes(16) }))
    const withdrawn = server.offer(() => { accepts++ })
    server.withdraw(withdrawn.id)
    await assert.rejects(connect(withdrawn))
    assert.equal(accepts, 0)
  })
})
