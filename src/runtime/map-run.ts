// One futures.map call: pulls the zipped inputs lazily, cuts them into chunks sized by the
// measured time per item, keeps a bounded window of items in flight, and hands results to
// one consumer, in input order or in completion order.

import { threadLogger } from './thread-log.js'
import { assertEncodable, decodeValue, deserializeError, encodeChecked, isImmutable } from './encoding.js'
import { Deque } from '../core/deque.js'
import type { ChunkResult, ExecutorRuntime } from './executor.js'
import type { FunctionRef } from '../core/wire.js'
import { TimeoutError, UnencodableValueError } from '../errors.js'
import { MAP_WINDOW_ITEMS_PER_PEER, MAX_FRAME_BYTES } from '../defaults.js'
import { ChunkSizer } from '../core/chunking.js'
import { ProgressBar, type ProgressOption } from './progress.js'

export interface MapRunOptions {
  /** Milliseconds for the whole map; rejects with TimeoutError after that. */
  timeout?: number
  signal?: AbortSignal
  /** Results in input order (map) or as they complete (mapAsCompleted). */
  ordered: boolean
  /** Re-executions of a chunk lost with its worker (see RetryOptions). */
  retries?: number
  /** A progress bar on stderr (see ProgressBar). */
  progress?: ProgressOption
}

const log = threadLogger('scoop:map')

interface Chunk { start: number, count: number, seq: number }

export class MapRun<R> implements AsyncIterator<R> {
  private pulled = 0
  private inputDone = false
  private finished = false
  private failure: Error | undefined
  /**
   * Ordered mode: each chunk's results by the input index of its first item, until the consumer
   * reaches them; `current` is the chunk being consumed, from input index `currentStart`. (One
   * entry per chunk, not per item: a map of 100 000 items spent more time on an entry per item.)
   */
  private readonly byStart = new Map<number, R[]>()
  private current: R[] | undefined
  private currentStart = 0
  /** Unordered mode: a FIFO of completed results. */
  private readonly completed = new Deque<R>()
  /** Ordered mode: an item's error, raised when the consumer reaches its index. */
  private errorAt: { index: number, error: Error } | undefined
  private consumed = 0
  private readonly inFlight = new Map<number, Chunk>()
  private readonly sizer = new ChunkSizer()
  private bytesPerItem = 0
  private wake: (() => void) | undefined
  private timer: NodeJS.Timeout | undefined
  private readonly window: number
  private readonly total: number | undefined
  private readonly progress: ProgressBar | undefined
  /** Fails the map when its signal aborts (made only for a map with a signal: a nested map of two items is common). */
  private abortListener: (() => void) | undefined

  constructor (
    private readonly rt: ExecutorRuntime,
    private readonly fn: FunctionRef,
    private readonly label: string,
    private readonly inputs: Iterator<unknown[]>,
    knownLength: number | undefined,
    private readonly options: MapRunOptions
  ) {
    this.total = knownLength
    this.progress = ProgressBar.start(label, knownLength, options.progress)
    this.window = MAP_WINDOW_ITEMS_PER_PEER * Math.max(1, rt.info.size)
    if (options.timeout !== undefined && Number.isFinite(options.timeout)) {
      this.timer = setTimeout(() => {
        this.fail(new TimeoutError(`${label} timed out after ${options.timeout} ms (${this.consumed} results consumed, ${this.inFlight.size} chunks still running)`))
      }, options.timeout)
    }
    const signal = options.signal
    if (signal != null) {
      this.abortListener = () => { this.fail(signal.reason ?? new Error(`${this.label} was aborted`)) }
      signal.addEventListener('abort', this.abortListener, { once: true })
    }
    if (signal?.aborted === true) this.abortListener?.()
    else this.refill()
  }

  async next (): Promise<IteratorResult<R>> {
    for (;;) {
      if (this.options.ordered ? this.readyInOrder() : this.completed.length > 0) {
        const value = this.options.ordered ? (this.current as R[])[this.consumed - this.currentStart] : this.completed.shift() as R
        this.consumed++
        this.refill()
        return { value, done: false }
      }
      if (this.ended()) return { value: undefined, done: true }
      await this.news()
    }
  }

  /** All the results (what `await futures.map(...)` gives), taken a chunk at a time rather than an item at a time. */
  async all (): Promise<R[]> {
    const out: R[] = []
    for (;;) {
      if (this.options.ordered) {
        while (this.readyInOrder()) {
          const chunk = this.current as R[]
          for (let k = this.consumed - this.currentStart; k < chunk.length; k++) out.push(chunk[k])
          this.consumed = this.currentStart + chunk.length
          this.refill()
        }
      } else if (this.completed.length > 0) {
        while (this.completed.length > 0) {
          out.push(this.completed.shift() as R)
          this.consumed++
        }
        this.refill()
      }
      if (this.ended()) return out
      await this.news()
    }
  }

  /** Ordered mode: whether the result at `consumed` is here (then in `current`). */
  private readyInOrder (): boolean {
    if (this.current !== undefined && this.consumed < this.currentStart + this.current.length) return true
    const next = this.byStart.get(this.consumed)
    if (next === undefined) {
      this.current = undefined
      return false
    }
    this.byStart.delete(this.consumed)
    this.current = next
    this.currentStart = this.consumed
    // (A failed chunk's results may be none: its error is at this index.)
    return next.length > 0 || this.readyInOrder()
  }

  /** Nothing to take now: raises the map's error, or says whether the map is over. */
  private ended (): boolean {
    if (this.errorAt != null && (!this.options.ordered || this.errorAt.index === this.consumed)) this.fail(this.errorAt.error)
    if (this.failure != null) throw this.failure
    if (this.inputDone && this.inFlight.size === 0 && this.consumed >= this.pulled) {
      this.close()
      return true
    }
    return false
  }

  /** Resolves on the next result, error or end (see notify). */
  private news (): Promise<void> {
    return new Promise<void>(resolve => { this.wake = resolve })
  }

  /** No more items are needed: the inputs' iterators are closed (a generator's finally runs). */
  private stopInputs (): void {
    if (this.inputDone) return
    this.inputDone = true
    this.inputs.return?.()
  }

  /** The consumer stopped early: cancel what is still queued. */
  async return (): Promise<IteratorResult<R>> {
    this.close()
    return { value: undefined, done: true }
  }

  private fail (error: Error): void {
    if (this.failure != null || this.finished) return
    this.failure = error
    this.close()
  }

  private close (): void {
    if (this.finished) return
    this.finished = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    if (this.abortListener !== undefined) this.options.signal?.removeEventListener('abort', this.abortListener)
    this.progress?.stop()
    this.stopInputs()
    for (const chunk of this.inFlight.values()) this.rt.cancel(chunk.seq)
    this.inFlight.clear()
    this.notify()
  }

  private notify (): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  /** Submits chunks while the window has room and the input has items. */
  private refill (): void {
    while (!this.finished && !this.inputDone && this.pulled - this.consumed < this.window) {
      // Until one chunk has been timed, send only a few probes: their sizes are guesses.
      if (!this.sizer.measured && this.inFlight.size >= 2 * Math.max(1, this.rt.info.size)) break
      const room = this.window - (this.pulled - this.consumed)
      const wanted = this.chunkSize()
      // Wait for room for a whole chunk: topping the window up item by item makes tiny chunks.
      if (room < wanted && this.inFlight.size > 0) break
      const size = Math.min(wanted, room)
      const items: unknown[][] = []
      // Every argument immutable: the chunk's items can run here without a copy (plainArgs).
      let plain = true
      try {
        while (items.length < size) {
          const next = this.inputs.next()
          if (next.done === true) { this.inputDone = true; break }
          for (let a = 0; a < next.value.length; a++) {
            if (isImmutable(next.value[a])) continue
            plain = false
            const item = this.pulled + items.length
            assertEncodable(next.value[a], () => `argument ${a + 1} of ${this.label} (input item ${item})`)
          }
          items.push(next.value)
        }
      } catch (err) {
        this.fail(err as Error)
        return
      }
      if (items.length === 0) break
      this.submitChunk(items, plain)
    }
    if (this.inputDone && this.inFlight.size === 0) this.notify()
  }

  private chunkSize (): number {
    return this.sizer.next(this.total === undefined ? undefined : this.total - this.pulled, this.rt.info.size, this.bytesPerItem)
  }

  private submitChunk (items: unknown[][], plain: boolean): void {
    const start = this.pulled
    this.pulled += items.length
    let payload: Uint8Array
    try {
      payload = encodeChecked(items, () => `the arguments of ${this.label}`)
    } catch (err) {
      this.fail(err as Error)
      return
    }
    if (payload.byteLength > MAX_FRAME_BYTES / 2) {
      this.fail(new UnencodableValueError(`the arguments of ${this.label} (input items ${start}..${start + items.length - 1}) take ${payload.byteLength} bytes; the limit per task is ${MAX_FRAME_BYTES / 2}`))
      return
    }
    const count = items.length
    this.bytesPerItem = Math.max(this.bytesPerItem * 0.5, payload.byteLength / count)
    // (The handler keeps the count, not the items: they are in the payload now.)
    // (The item lists come fresh from the zipped inputs: nobody else holds them.)
    const seq = this.rt.submit(this.fn, payload, count, new ChunkSubmission(this, start, count, plain ? items : undefined), this.options.retries)
    this.inFlight.set(start, { start, count, seq })
  }

  /** `plain`: the chunk's result itself, when it ran here (see ResultHandler); else it is decoded from `data`. */
  onChunkResult (start: number, count: number, ok: boolean, data: Uint8Array, ms: number, peer: string, plain: ChunkResult | undefined): void {
    if (!this.inFlight.delete(start) || this.finished) return
    log.trace('%s: chunk at %d of %d items took %d ms on %s', this.label, start, count, Math.round(ms), peer)
    this.sizer.observe(ms, count)
    let values: unknown[] = []
    let error: Error | undefined
    try {
      if (ok) {
        const chunk = plain ?? decodeValue(data) as ChunkResult
        values = chunk.v
        if (chunk.e != null) error = deserializeError(chunk.e)
      } else {
        error = deserializeError(decodeValue(data) as any)
      }
    } catch (err) {
      error = err as Error
    }
    this.progress?.advance(values.length)
    if (this.options.ordered) {
      this.byStart.set(start, values as R[])
    } else {
      for (const v of values) this.completed.push(v as R)
    }
    if (error != null) {
      const index = start + values.length
      if (this.errorAt == null || index < this.errorAt.index) this.errorAt = { index, error }
      // Work after a failed item is not needed: stop feeding the map.
      this.stopInputs()
    }
    this.refill()
    this.notify()
  }
}

/** A chunk of a map on its way: what the executor calls back (see Submission). One object, not a closure too. */
class ChunkSubmission {
  constructor (private readonly run: MapRun<unknown>, private readonly start: number, private readonly count: number, readonly plainArgs: unknown[] | undefined) {}

  /** Chunks of one map that run here run in their order (see Submission.inOrderWith). */
  get inOrderWith (): object { return this.run }

  onResult (ok: boolean, data: Uint8Array, peer: string, ms: number, plain?: { value: unknown }): void {
    this.run.onChunkResult(this.start, this.count, ok, data, ms, peer, plain?.value as ChunkResult | undefined)
  }
}
