// The simulated network between virtual peers: per-message latency (base + uniform jitter), a
// bandwidth limit per directed peer link fed by an estimate of each message's encoded size, and
// loss. Task-protocol streams are TCP in the real mesh, so a lost segment there costs a
// retransmission timeout and holds back the messages behind it (head-of-line), but nothing is
// lost; gossip (heartbeats) is modelled as datagrams that are simply dropped.

import { taskWireBytes, type WireMessage } from '../core/wire.js'
import type { SeededRandom } from './random.js'

export interface NetworkConfig {
  /** One-way latency floor, ms. */
  latencyMs: number
  /** Uniform extra latency in [0, jitterMs), ms. */
  jitterMs: number
  /** Per directed link; Mbit/s. */
  bandwidthMbps: number
  /** Probability that one transmission of a message is lost. */
  loss: number
}

/** Linux's minimum TCP retransmission timeout: what a lost segment costs a stream on a LAN. */
export const TCP_MIN_RTO_MS = 200
/** A stream gives up after this many retransmissions in a row (Linux tcp_retries2 is 15). */
const MAX_RETRANSMISSIONS = 15
/** Length prefix, cbor array header and message tag. */
const FRAME_OVERHEAD_BYTES = 8

/** Rough cbor size of a message: enough to charge bandwidth; exact encoding is not needed. */
export function estimateMessageBytes (msg: WireMessage): number {
  switch (msg.t) {
    case 'tasks': {
      let bytes = 16
      for (const task of msg.tasks) bytes += taskWireBytes(task)
      return FRAME_OVERHEAD_BYTES + bytes
    }
    case 'result': return FRAME_OVERHEAD_BYTES + 24 + msg.data.byteLength
    case 'started': return FRAME_OVERHEAD_BYTES + 24 + 5 * msg.seqs.length
    case 'moved': return FRAME_OVERHEAD_BYTES + 24 + 5 * msg.seqs.length + 3 * (msg.hops?.length ?? 0)
    case 'hello': return FRAME_OVERHEAD_BYTES + 96
    default: return FRAME_OVERHEAD_BYTES + 12
  }
}

export class NetworkModel {
  private readonly bytesPerMs: number
  /** Per directed link (from * n + to): when its sender side is free again, and when its last message arrived. */
  private readonly linkFreeAt: Float64Array
  private readonly linkLastArrival: Float64Array

  constructor (readonly config: NetworkConfig, private readonly peerCount: number, private readonly random: SeededRandom) {
    this.bytesPerMs = config.bandwidthMbps * 1e6 / 8 / 1000
    this.linkFreeAt = new Float64Array(peerCount * peerCount)
    this.linkLastArrival = new Float64Array(peerCount * peerCount)
  }

  /** One-way propagation delay of one transmission. */
  latency (): number {
    return this.config.latencyMs + (this.config.jitterMs > 0 ? this.random.next() * this.config.jitterMs : 0)
  }

  /** True if a datagram (a gossip heartbeat) is lost. */
  dropsDatagram (): boolean {
    return this.config.loss > 0 && this.random.next() < this.config.loss
  }

  /**
   * Arrival time of a message sent now on the stream from → to: it waits for the link, is
   * serialised at the link's bandwidth, travels, and may be retransmitted; a stream delivers in
   * order, so it never overtakes the message before it.
   */
  streamArrival (from: number, to: number, bytes: number, now: number): number {
    const link = from * this.peerCount + to
    const departs = Math.max(now, this.linkFreeAt[link]) + bytes / this.bytesPerMs
    this.linkFreeAt[link] = departs
    let delay = this.latency()
    // Each loss costs a timeout that doubles (exponential back-off), then a fresh trip.
    let rto = TCP_MIN_RTO_MS
    let waited = 0
    for (let k = 0; k < MAX_RETRANSMISSIONS && this.config.loss > 0 && this.random.next() < this.config.loss; k++) {
      waited += rto
      rto *= 2
      delay = waited + this.latency()
    }
    const arrives = Math.max(departs + delay, this.linkLastArrival[link])
    this.linkLastArrival[link] = arrives
    return arrives
  }
}
