// The Future of SCOOP (PEP 3148), awaitable: `await f` is `await f.result()`.
// A Future lives in the thread that submitted it; the executor settles it when the
// owner's scheduler reports the result.

import { CancelledError, TimeoutError } from '../errors.js'
import { waitFor, type WaitOptions } from './waiting.js'
import { threadLogger } from './thread-log.js'

const log = threadLogger('scoop:future')

type State = 'pending' | 'running' | 'finished'
type DoneCallback<T> = (future: Future<T>) => void

/** What a Future asks to drop its task when it is cancelled. */
export interface TaskCanceller {
  cancelTask: () => void
}

const SETTLED = Promise.resolve()

export class Future<T = unknown> implements PromiseLike<T> {
  private state: State = 'pending'
  // Typed loosely so that Future<T> is covariant: a Future<number> is a Future<unknown>.
  private outcome: { ok: true, value: unknown } | { ok: false, error: Error } | undefined
  private isCancelled = false
  // The rest is made only when asked for: a flood of tasks holds thousands of futures at once,
  // and each object they hold made the garbage collector's copies of them longer.
  private callbacks: Array<DoneCallback<any>> | undefined
  /** Resolves once settled; made by the first one to wait while the future is pending. */
  private settledPromise: Promise<void> | undefined
  private markSettled: (() => void) | undefined

  /**
   * @param label names the call in timeout errors, e.g. "future of test()"
   * @param canceller asks the scheduler to drop the task; the Future is cancelled either way
   */
  constructor (readonly label: string, private readonly canceller: TaskCanceller) {}

  private get settled (): Promise<void> {
    if (this.state === 'finished') return SETTLED
    this.settledPromise ??= new Promise<void>(resolve => { this.markSettled = resolve })
    return this.settledPromise
  }

  /** True if the task is running on some peer now. */
  running (): boolean { return this.state === 'running' }

  /** True once the task finished, failed or was cancelled. */
  done (): boolean { return this.state === 'finished' }

  cancelled (): boolean { return this.isCancelled }

  /** True once the task has failed (an error, not a cancellation). */
  failed (): boolean { return this.outcome?.ok === false && !this.isCancelled }

  /**
   * Cancels the task if it has not started, wherever it is queued. Returns true if it was
   * cancelled (now or before); false if it is running or finished.
   */
  cancel (): boolean {
    if (this.isCancelled) return true
    if (this.state !== 'pending') return false
    this.isCancelled = true
    this.canceller.cancelTask()
    this.settle({ ok: false, error: new CancelledError(`${this.label} was cancelled`) })
    return true
  }

  /** The task's value; rejects with its error, a CancelledError, or a TimeoutError. */
  async result (options: WaitOptions = {}): Promise<T> {
    await this.wait(options, 'result')
    const outcome = this.outcome!
    if (outcome.ok) return outcome.value as T
    throw outcome.error
  }

  /** The task's error, or undefined if it succeeded. Rejects with TimeoutError or CancelledError. */
  async exception (options: WaitOptions = {}): Promise<Error | undefined> {
    await this.wait(options, 'exception')
    const outcome = this.outcome!
    if (outcome.ok) return undefined
    if (outcome.error instanceof CancelledError) throw outcome.error
    return outcome.error
  }

  /** Calls `cb(future)` once when the future is done (at once if it already is). Errors in `cb` are logged. */
  addDoneCallback (cb: DoneCallback<T>): void {
    if (this.state === 'finished') this.invoke(cb)
    else (this.callbacks ??= []).push(cb)
  }

  then<R1 = T, R2 = never> (
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: any) => R2 | PromiseLike<R2>) | null
  ): Promise<R1 | R2> {
    // `await future` is `await future.result()` in one promise, not the three of result()'s.
    return this.settled.then(() => {
      const outcome = this.outcome!
      if (outcome.ok) return typeof onFulfilled === 'function' ? onFulfilled(outcome.value as T) : outcome.value as R1
      if (typeof onRejected === 'function') return onRejected(outcome.error)
      throw outcome.error
    })
  }

  /** @internal the task started on some peer */
  markRunning (): void {
    if (this.state === 'pending') this.state = 'running'
  }

  /** @internal first outcome wins */
  settle (outcome: { ok: true, value: T } | { ok: false, error: Error }): void {
    if (this.state === 'finished') return
    this.state = 'finished'
    this.outcome = outcome
    this.markSettled?.()
    const callbacks = this.callbacks
    this.callbacks = undefined
    if (callbacks !== undefined) for (const cb of callbacks) this.invoke(cb)
  }

  private invoke (cb: DoneCallback<T>): void {
    try {
      cb(this)
    } catch (err) {
      log.error('done callback of %s threw: %s', this.label, (err as Error)?.stack ?? err)
      process.emitWarning(`scoop-node: a done callback of ${this.label} threw: ${(err as Error)?.message ?? String(err)}`)
    }
  }

  private async wait (options: WaitOptions, what: string): Promise<void> {
    if (this.state === 'finished') return
    await waitFor(this.settled, options, () => new TimeoutError(`${what}() of ${this.label} timed out after ${options.timeout} ms`))
  }
}

