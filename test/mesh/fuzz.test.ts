// Fuzzing a live peer host (libp2p node + scheduler, as in every worker): 10 000 random and
// mutated frames from a peer that holds the swarm key. Malformed frames cost their stream;
// well-formed hostile messages (forged ids, stray results, steal floods) are absorbed. The
// host must stay up and keep serving a well-behaved peer. Seeded, bounded in count and time.
import '../../src/polyfill.js'
import { strict as assert } from 'node:assert'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@libp2p/yamux'
import { preSharedKey } from '@libp2p/pnet'
import { multiaddr } from '@multiformats/multiaddr'
import * as varint from 'uint8-varint'
import type { Stream } from '@libp2p/interface'
import { PeerHost } from '../../src/runtime/peer-host.js'
import { MeshNode, newSwarmKey, TASK_PROTOCOL } from '../../src/mesh/node.js'
import { FrameEncoder } from '../../src/mesh/framing.js'
import { encode } from '../../src/core/codec.js'
import type { RunSpec, WireMessage } from '../../src/core/wire.js'
import { MessageChannel } from 'node:worker_threads'
import { withLengthPrefix } from '../helpers/frames.js'
import { SeededRandom } from '../../src/sim/random.js'

const FRAMES = 10_000
const TIME_LIMIT_MS = 90_000

describe('mesh: fuzzing a live peer host', function () {
  this.timeout(TIME_LIMIT_MS + 30_000)
  const key = newSwarmKey()
  let host: PeerHost
  let fuzzer: Libp2p
  let friend: MeshNode
  const random = new SeededRandom(20261123) // seeded, so a failure replays
  const rnd = (): number => random.next()
  const int = (n: number): number => Math.floor(rnd() * n)
  const pick = <T>(xs: T[]): T => xs[int(xs.length)]
  const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(256))
  /** A run on the host, so that run-scoped hostile messages reach a real scheduler. */
  const RUN: RunSpec = { id: 'fuzzrun', origin: '', script: 'fuzz.ts', workDir: '/', argv: [] }
  const executorChannel = new MessageChannel()
  const peerIds = (): string[] => [host.self.id, fuzzer.peerId.toString(), '12D3KooWfake', '']

  /** A message of a known kind with random, well-typed fields. */
  function hostileMessage (): WireMessage {
    const seq = pick([0, 1, 2, int(1e6), Number.MAX_SAFE_INTEGER])
    const owner = pick(peerIds())
    const task = { owner, seq, fn: pick(['export:x', 'builtin:Math.abs', 'builtin:process.exit', 'nope']), payload: bytes(int(16)), chunk: int(3), constSeq: int(3) }
    const info = { id: pick(peerIds()), name: 'fuzz', addrs: [pick(['/ip4/127.0.0.1/tcp/1', 'garbage', '/dns4/example.invalid/tcp/1'])], startedAt: int(1e12) }
    const options: WireMessage[] = [
      { t: 'hello', peer: info, load: int(100) },
      { t: 'peers', peers: [info] },
      { t: 'load', n: int(1000) },
      { t: 'steal', wait: rnd() < 0.5, ahead: rnd() < 0.5 },
      { t: 'tasks', tasks: [task], load: int(10) },
      { t: 'started', owner, seqs: [seq] },
      { t: 'result', seq, ok: rnd() < 0.5, data: bytes(int(32)), ms: rnd() * 10 },
      { t: 'cancel', seq },
      { t: 'moved', seqs: [seq], to: pick(peerIds()) },
      { t: 'returned', seqs: [seq] },
      { t: 'setConst', req: seq, entries: [{ name: `fuzz${int(20)}`, data: bytes(4) }] },
      { t: 'setConstReply', req: seq, seqs: [seq], error: pick(['', 'redefined:x']) },
      { t: 'fetchConsts', after: int(5) },
      { t: 'consts', entries: [{ seq: int(50), name: `c${int(50)}`, data: bytes(3) }] },
      { t: 'scope', run: pick(['', RUN.id, `run${int(100)}`]) },
      { t: 'runJoin', spec: { ...RUN, id: pick([RUN.id, `run${int(100)}`]), script: pick(['/etc/passwd', 'nope.ts']) }, load: int(10) },
      { t: 'runRefused', run: pick([RUN.id, 'x']), error: 'fuzz' },
      // Offers of direct links nobody listens for (a closed loopback port), and switches to none.
      { t: 'direct', port: 1, id: bytes(16), secret: bytes(32) },
      { t: 'switch' }
    ]
    return pick(options)
  }

  /** A frame that must be refused: garbage, truncated, mistyped, unknown kind, oversized. */
  function malformedFrame (): Uint8Array {
    const valid = new FrameEncoder().encode([hostileMessage()])
    switch (int(5)) {
      case 0: return withLengthPrefix(bytes(1 + int(64)))
      case 1: { // flip bytes of a valid frame's body, keeping its length prefix
        const copy = valid.slice()
        const prefix = varint.encodingLength(copy.length - 1)
        for (let k = 0; k < 1 + int(4); k++) copy[prefix + int(copy.length - prefix)] ^= 1 + int(255)
        return copy
      }
      case 2: return withLengthPrefix(encode([{ t: pick(['load', 'result', 'tasks']), n: 'x', seq: -1, tasks: 'no' }]))
      case 3: return withLengthPrefix(encode([{ t: `kind${int(100)}` }]))
      default: return varint.encode(64 * 1024 * 1024)
    }
  }

  before(async () => {
    host = await PeerHost.start({ workerName: 'fuzz-target', swarmKey: key })
    RUN.origin = host.self.id
    host.startRun(RUN, { port: executorChannel.port1, terminate: () => {} })
    fuzzer = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], connectionProtector: preSharedKey({ psk: key }) })
    friend = await MeshNode.create({ swarmKey: key }, { onPeerConnected: () => {}, onPeerDisconnected: () => {}, onGossip: () => {}, onMessages: (_from, _run, messages) => { friendInbox.push(...messages) } })
  })
  after(async () => {
    executorChannel.port1.close()
    await Promise.all([host.stop(), fuzzer.stop(), friend.stop()])
  })
  const friendInbox: WireMessage[] = []

  it(`absorbs ${FRAMES} random and mutated frames`, async () => {
    const address = multiaddr(host.mesh.multiaddrs[0])
    const deadline = Date.now() + TIME_LIMIT_MS
    const open = async (): Promise<Stream> => {
      const s = await fuzzer.dialProtocol(address, TASK_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
      s.addEventListener('message', () => {}) // read (and drop) the host's answers, or yamux resets the stream
      return s
    }
    let stream = await open()
    let sent = 0
    let refused = 0
    let rejectedStreams = 0
    let incomplete = 0
    const encoder = new FrameEncoder()
    while (sent < FRAMES && Date.now() < deadline) {
      if (rnd() < 0.3) {
        // A bad frame costs its stream: send it on a stream of its own and wait for the close.
        const victim = await open()
        const closed = new Promise<void>(resolve => { victim.addEventListener('close', () => { resolve() }) })
        try {
          victim.send(malformedFrame())
          await Promise.race([closed, new Promise(resolve => setTimeout(resolve, 200))])
          if (victim.status !== 'open') {
            refused++
          } else {
            // A mutated length prefix can announce more bytes than were sent: the host rightly
            // waits for the rest. Give up on that stream, freeing this peer's stream slot.
            incomplete++
            victim.abort(new Error('fuzzer gave up on an incomplete frame'))
          }
        } catch {
          // The host would not take another stream from this peer yet (its per-peer stream limit).
          rejectedStreams++
          await new Promise(resolve => setTimeout(resolve, 10))
        }
      } else {
        const frame = encoder.encode(Array.from({ length: 1 + int(8) }, hostileMessage))
        let accepted: boolean
        try {
          accepted = stream.send(frame)
        } catch {
          // The stream went away (the host may drop a peer's link, e.g. on a forged hello): reopen.
          stream = await open()
          accepted = stream.send(frame)
        }
        if (!accepted) await new Promise(resolve => { stream.addEventListener('drain', resolve, { once: true }) })
      }
      sent++
      // Let the host breathe now and then, so its answers do not pile up unread.
      if (sent % 200 === 0) await new Promise(resolve => setImmediate(resolve))
    }
    assert.equal(sent, FRAMES, `only ${sent} frames within ${TIME_LIMIT_MS} ms`)
    const badFrames = refused + incomplete
    assert.ok(badFrames > FRAMES * 0.2, `${badFrames} bad frames sent (${rejectedStreams} streams refused at once)`)
    assert.ok(refused > badFrames * 0.7, `bad frames must close their stream: ${refused} of ${badFrames} did (${incomplete} were incomplete)`)
  })

  it('still serves a well-behaved peer: it answers a steal request in its run', async () => {
    const peer = await friend.dial(host.mesh.multiaddrs[0], { signal: AbortSignal.timeout(10_000) })
    assert.equal(peer, host.self.id)
    friend.send(peer, { t: 'hello', peer: { id: friend.peerId, name: 'friend', addrs: friend.multiaddrs, startedAt: Date.now() }, load: 0 })
    friend.send(peer, { t: 'runJoin', spec: RUN, load: 0 })
    friend.send(peer, { t: 'steal' }, RUN.id)
    const deadline = Date.now() + 10_000
    while (!friendInbox.some(m => m.t === 'tasks') && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
    assert.ok(friendInbox.some(m => m.t === 'hello'), 'the host said hello')
    assert.ok(friendInbox.some(m => m.t === 'runJoin' && m.spec.id === RUN.id), 'the host told it takes part in the run')
    assert.ok(friendInbox.some(m => m.t === 'tasks'), 'the host answered the steal request')
  })
})
