// Two per-message costs of the libp2p stack that a task stream pays on every frame, removed
// here: the only place that reaches into libp2p's internals (pinned versions: package.json).
// bench/profile/transport.mjs measures a round trip on the task stream with and without them.

import { InvalidMessageLengthError, LengthPrefixedDecoder } from '@libp2p/utils'
import { InvalidParametersError } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import type { Stream } from '@libp2p/interface'

/** The fields of @libp2p/yamux's YamuxStream (8.0.3) that sendWindowUpdatesAtHalf uses. */
interface YamuxStreamWindow {
  state: number
  recvWindow: number
  recvWindowCapacity: number
  sendWindowUpdate: () => void
}

/** YamuxStream's StreamState.Established. */
const YAMUX_ESTABLISHED = 3

/**
 * @libp2p/yamux answers every data frame it receives with a window update: one more encrypted
 * frame each way per message, and one more wake-up of the sender's process, which on the task
 * stream doubled the network messages of a round trip. The yamux spec's reference implementation
 * (hashicorp/yamux) sends an update only once half the receive window is used; so does this
 * stream. The sender can never stall on a window that is more than half free. Updates that carry
 * flags (the ACK of a new stream) and those after a pause go out as before. A stream of another
 * shape (another muxer) is left alone.
 */
export function sendWindowUpdatesAtHalf (stream: Stream): void {
  const s = stream as unknown as Partial<YamuxStreamWindow>
  if (typeof s.sendWindowUpdate !== 'function' || typeof s.recvWindow !== 'number' || typeof s.recvWindowCapacity !== 'number') return
  const window = s as YamuxStreamWindow
  const update = window.sendWindowUpdate.bind(window)
  window.sendWindowUpdate = () => {
    if (window.state === YAMUX_ESTABLISHED && window.recvWindowCapacity * 2 > window.recvWindow) return
    update()
  }
}

/** The fields of @libp2p/utils' LengthPrefixedDecoder (7.4.1) that decodeWithoutThrows uses. */
interface LengthPrefixedDecoding {
  buffer: Uint8ArrayList
  maxBufferSize: number
  maxDataLength: number
  lengthDecoder: (data: Uint8ArrayList) => number
  encodingLength: (length: number) => number
}

/**
 * LengthPrefixedDecoder (noise's decoder of encrypted messages, and our frame decoder) tries to
 * read one more length prefix after the last whole message of a chunk, where there usually is
 * none: its length decoder throws a RangeError, which it catches. Those two throws per message
 * cost 23 % of the CPU of a loop of round trips on the task stream (bench/profile/README.md).
 * This is the same decoder, with the same limits and errors, that first checks whether the
 * buffer holds the shortest length prefix at all; only a partial longer one still throws.
 */
function * decodeWithoutThrows (this: LengthPrefixedDecoding, buf: Uint8Array | Uint8ArrayList): Generator<Uint8ArrayList> {
  this.buffer.append(buf)
  if (this.buffer.byteLength > this.maxBufferSize) {
    throw new InvalidParametersError(`Buffer length limit exceeded - ${this.buffer.byteLength}/${this.maxBufferSize}`)
  }
  const shortestPrefix = this.encodingLength(0)
  while (this.buffer.byteLength >= shortestPrefix) {
    let dataLength: number
    try {
      dataLength = this.lengthDecoder(this.buffer)
    } catch (err) {
      if (err instanceof RangeError) break
      throw err
    }
    if (dataLength < 0 || dataLength > this.maxDataLength) throw new InvalidMessageLengthError('Invalid message length')
    const lengthLength = this.encodingLength(dataLength)
    const chunkLength = lengthLength + dataLength
    if (this.buffer.byteLength < chunkLength) break
    const message = this.buffer.sublist(lengthLength, chunkLength)
    this.buffer.consume(chunkLength)
    if (message.byteLength > 0) yield message
  }
}

(LengthPrefixedDecoder.prototype as unknown as { decode: typeof decodeWithoutThrows }).decode = decodeWithoutThrows
