// Hostile or broken input on a task stream: it closes that stream, is logged, and never
// crashes the node, which keeps serving well-behaved peers.
import '../../src/polyfill.js'
import { strict as assert } from 'node:assert'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import * as varint from 'uint8-varint'
import { MeshNode, TASK_PROTOCOL } from '../../src/mesh/node.js'
import { FrameDecoder, FrameEncoder } from '../../src/mesh/framing.js'
import { encode } from '../../src/core/codec.js'
import type { WireMessage } from '../../src/core/wire.js'
import { MAX_FRAME_BYTES } from '../../src/defaults.js'
import { withLengthPrefix } from '../helpers/frames.js'

describe('mesh: frames', function () {
  it('FrameDecoder reassembles split frames and refuses bad ones', () => {
    const frame = new FrameEncoder().encode([{ t: 'load', n: 4 }, { t: 'steal' }])
    const d = new FrameDecoder()
    assert.deepEqual(d.decode(frame.subarray(0, 3)), [])
    assert.deepEqual(d.decode(frame.subarray(3)), [[{ t: 'load', n: 4 }, { t: 'steal' }]])
    assert.throws(() => new FrameDecoder().decode(withLengthPrefix(new Uint8Array([0xff, 0xff, 0x01]))), { name: 'InvalidFrameError' })
    assert.throws(() => new FrameDecoder().decode(withLengthPrefix(encode([{ t: 'bogus' }]))), { name: 'InvalidFrameError' })
    assert.throws(() => new FrameDecoder().decode(varint.encode(MAX_FRAME_BYTES + 1)))
  })

  describe('a live node fed garbage', function () {
    let target: MeshNode
    let friend: MeshNode
    let attacker: Libp2p
    const received: WireMessage[] = []

    before(async () => {
      target = await MeshNode.create({}, {
        onPeerConnected: () => {}, onPeerDisconnected: () => {}, onGossip: () => {},
        onMessages: (_from, _run, messages) => { received.push(...messages) }
      })
      friend = await MeshNode.create({}, { onPeerConnected: () => {}, onPeerDisconnected: () => {}, onGossip: () => {}, onMessages: () => {} })
      attacker = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
    })
    after(async () => { await Promise.all([target.stop(), friend.stop(), attacker.stop()]) })

    for (const [label, bytes] of [
      ['truncated cbor', withLengthPrefix(new Uint8Array([0x9f, 0xa2, 0x61]))],
      ['an unknown message kind', withLengthPrefix(encode([{ t: 'exec', code: 'process.exit()' }]))],
      ['wrong field types', withLengthPrefix(encode([{ t: 'result', seq: 'x', ok: 1, data: 5, ms: 'no' }]))],
      ['an oversized frame', varint.encode(MAX_FRAME_BYTES * 2)]
    ] as Array<[string, Uint8Array]>) {
      it(`closes the stream on ${label}`, async () => {
        const stream = await attacker.dialProtocol(multiaddr(target.multiaddrs[0]), TASK_PROTOCOL)
        const closed = new Promise<void>(resolve => { stream.addEventListener('close', () => { resolve() }) })
        stream.send(bytes)
        await Promise.race([closed, new Promise((_, reject) => setTimeout(() => { reject(new Error('stream not closed')) }, 10_000))])
        assert.notEqual(stream.status, 'open')
      })
    }

    it('still serves a well-behaved peer afterwards', async () => {
      const peer = await friend.dial(target.multiaddrs[0])
      assert.equal(peer, target.peerId)
      friend.send(peer, { t: 'load', n: 7 })
      const deadline = Date.now() + 10_000
      while (!received.some(m => m.t === 'load' && m.n === 7) && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
      assert.ok(received.some(m => m.t === 'load' && m.n === 7))
      assert.equal(received.some(m => (m as any).t === 'exec'), false, 'no invalid message got through')
    })
  })
})
