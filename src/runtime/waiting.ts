// Bounded waiting: every call that can wait takes `{ timeout, signal }` (timeout in milliseconds).

import { InvalidArgumentError } from '../errors.js'

export interface WaitOptions {
  /** Milliseconds to wait at most; no limit if omitted. */
  timeout?: number
  signal?: AbortSignal
}

/** How often a task lost with its worker runs again (see SubmitOptions). */
export interface RetryOptions {
  /**
   * Re-executions allowed when the worker holding the task is lost: unset, as many as the
   * quarantine allows (MAX_TASK_LOSSES); 0 for a task that must not run twice (its future then
   * rejects with WorkerLostError, naming the worker, whether or not the task had started).
   */
  retries?: number
}

export function checkRetryOptions (options: RetryOptions, call: string): void {
  const { retries } = options
  if (retries !== undefined && !(Number.isInteger(retries) && retries >= 0)) {
    throw new InvalidArgumentError(`${call}: options.retries must be a non-negative integer, got ${String(retries)}`)
  }
}

export function checkWaitOptions (options: WaitOptions, call: string): void {
  if (options == null || typeof options !== 'object') throw new InvalidArgumentError(`${call}: options must be an object`)
  const { timeout } = options
  if (timeout !== undefined && !(typeof timeout === 'number' && timeout >= 0 && !Number.isNaN(timeout))) {
    throw new InvalidArgumentError(`${call}: options.timeout must be a non-negative number of milliseconds, got ${String(timeout)}`)
  }
}

/**
 * Waits for `promise`; rejects with `onTimeout()` after options.timeout ms, or with the signal's
 * reason when it aborts. The timer never keeps the process alive past the wait.
 */
export async function waitFor<T> (promise: Promise<T>, options: WaitOptions, onTimeout: () => Error): Promise<T> {
  const { timeout, signal } = options
  if (timeout === undefined && signal == null) return await promise
  signal?.throwIfAborted()
  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  try {
    return await new Promise<T>((resolve, reject) => {
      promise.then(resolve, reject)
      if (timeout !== undefined && Number.isFinite(timeout)) timer = setTimeout(() => { reject(onTimeout()) }, timeout)
      if (signal != null) {
        onAbort = () => { reject(signal.reason) }
        signal.addEventListener('abort', onAbort, { once: true })
      }
    })
  } finally {
    if (timer !== undefined) clearTimeout(timer)
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
  }
}
