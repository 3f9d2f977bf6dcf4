// Messages between a peer's host (libp2p node + scheduler) and its executor (the thread that
// holds the user's module). Both directions are batched: the messages posted together go in
// one postMessage, packed (see BatchPacker).

import type { MessagePort } from 'node:worker_threads'
import { hostname } from 'node:os'
import type { FunctionRef, PeerId } from '../core/wire.js'
import { BatchPacker, unpackBatch, type PortBatch } from './thread-batch.js'
import { LATER_MESSAGES_MS } from '../defaults.js'

/** What the executor's `scoop` object reports; refreshed by the host when it changes. */
export interface RuntimeInfo {
  peerId: PeerId
  multiaddrs: string[]
  workerName: string
  size: number
  brokerName: string
  brokerAddress: string
}

/** This process's worker name, `host:pid`, as errors, logs and status show it. */
export function processWorkerName (): string {
  return `${hostname()}:${process.pid}`
}

/** What an executor knows of itself before its host's mesh is up (the host sends the rest). */
export function infoBeforeMesh (): RuntimeInfo {
  return { peerId: '', multiaddrs: [], workerName: processWorkerName(), size: 1, brokerName: '', brokerAddress: '' }
}

export type HostToExecutor =
  | { k: 'info', info: RuntimeInfo }
  | { k: 'run', owner: PeerId, seq: number, fn: FunctionRef, payload: Uint8Array, chunk: number }
  | { k: 'resolve', seq: number, ok: boolean, data: Uint8Array, peer: string, ms: number }
  | { k: 'started', seq: number }
  | { k: 'consts', entries: Array<{ name: string, data: Uint8Array }> }
  | { k: 'setConstReply', req: number, error: string }
  /** Whether the executor may run the tasks it submits itself (see TaskClaims). */
  | { k: 'ownTasks', run: boolean }

export type ExecutorToHost =
  /** The executor's table of task claims (see TaskClaims), its first message. */
  | { k: 'claims', buffer: SharedArrayBuffer }
  /** A task submitted; `offered`: the executor runs it itself unless the host takes it first (see TaskClaims). */
  | { k: 'submit', seq: number, fn: FunctionRef, payload: Uint8Array, chunk: number, retries?: number, offered?: boolean }
  /** The executor ran an offered task itself and settled its future; `data` only for an error. */
  | { k: 'ownResult', seq: number, ok: boolean, data: Uint8Array, ms: number }
  | { k: 'cancel', seq: number }
  | { k: 'yield', owner: PeerId, seq: number }
  | { k: 'result', owner: PeerId, seq: number, ok: boolean, data: Uint8Array, ms: number }
  | { k: 'setConst', req: number, entries: Array<{ name: string, data: Uint8Array }> }
  | { k: 'shutdown' }
  /** The executor has imported the run's module and can run tasks. */
  | { k: 'ready' }

/**
 * When a posted message goes: `soon`, once the code that posted it returns (a microtask: the
 * messages a handler or a loop posts go together, without waiting for the rest of the event
 * loop's turn); `later`, with the others, LATER_MESSAGES_MS after the previous batch at the most
 * (for messages nobody waits for).
 */
export type Sending = 'soon' | 'later'

/** Joins the messages posted together into one postMessage. */
export class BatchedPort<Out extends { k: string }> {
  private readonly outbox = new BatchPacker()
  private soon = false
  private later = false
  private sent = 0
  /** When the last batch went (performance.now()). */
  private sentAt = 0

  constructor (readonly port: MessagePort) {}

  post (msg: Out, sending: Sending = 'soon'): void {
    this.outbox.add(msg)
    if (sending === 'soon' && !this.soon) {
      this.soon = true
      queueMicrotask(() => {
        this.soon = false
        this.flush()
      })
    } else if (sending === 'later' && !this.later) {
      this.later = true
      const sendLater = (): void => {
        this.later = false
        this.flush()
      }
      // A loop of tasks that run where they were submitted, each in its own turn of the event
      // loop, posted a batch per turn: its host fell seconds behind, and heard of tasks only when
      // they were done (nothing left for thieves), and of its peers' heartbeats too late.
      const wait = LATER_MESSAGES_MS - (performance.now() - this.sentAt)
      if (wait <= 0) setImmediate(sendLater)
      else setTimeout(sendLater, wait)
    }
  }

  /** Batches sent so far. */
  get batchesSent (): number { return this.sent }

  /** Messages posted and not sent yet. */
  get held (): number { return this.outbox.length }

  flush (): void {
    if (this.outbox.length === 0) return
    const { batch, transfer } = this.outbox.take()
    this.sent++
    this.sentAt = performance.now()
    this.port.postMessage(batch, transfer)
  }
}

/** Calls `handler` with the messages of each batch that arrives on `port` (see BatchedPort). */
export function onBatches<In> (port: MessagePort, handler: (messages: In[]) => void): void {
  port.on('message', (batch: PortBatch) => { handler(unpackBatch<In>(batch)) })
}
