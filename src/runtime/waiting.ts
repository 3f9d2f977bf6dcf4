// Bounded waiting: every call that can wait takes `{ timeout, signal }` (timeout in milliseconds).

import { InvalidArgumentError } from '../errors.js'

export interface WaitOptions {
  /** Milliseconds to wait at most; no limit if omitted. */
  timeout?: number
  signal?: AbortSignal
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
