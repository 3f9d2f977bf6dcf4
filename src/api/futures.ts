// `futures`: SCOOP's futures module with JS idioms. Thin: it checks the call, then hands the
// work to this thread's executor (starting the embedded mesh on first use).

import { Future, type TaskCanceller } from '../runtime/future.js'
import { MapRun } from '../runtime/map-run.js'
import { taskRuntime, readyRuntime } from '../runtime/context.js'
import { assertEncodable, decodeValue, deserializeError, encodeChecked, isImmutable } from '../runtime/encoding.js'
import type { ProgressOption } from '../runtime/progress.js'
import { checkRetryOptions, checkWaitOptions, waitFor, type RetryOptions, type WaitOptions } from '../runtime/waiting.js'
import { FunctionRegistry } from '../runtime/functions.js'
import type { ExecutorRuntime } from '../runtime/executor.js'
import { InvalidArgumentError, TimeoutError } from '../errors.js'

export { Future }

/**
 * Options of a map: `timeout`/`signal` for the whole map, `retries` for each of its tasks, and
 * `progress`: a bar on stderr (true: on a terminal only, and not under NO_COLOR or CI; 'force': always).
 */
export interface MapOptions extends WaitOptions, RetryOptions {
  progress?: ProgressOption
}

/** Options of futures.submitWith. */
export interface SubmitOptions extends RetryOptions {}

/** The value of a map: await it for an array, or iterate it with `for await` for results as they come, in order. */
export class MapResult<R> implements PromiseLike<R[]>, AsyncIterable<R> {
  private iterated = false

  /** `run`: the map itself when the mesh is up, or how to start it once the embedded mesh has started. */
  constructor (private readonly run: MapRun<R> | (() => Promise<MapRun<R>>)) {}

  [Symbol.asyncIterator] (): AsyncIterator<R> {
    const run = this.consume()
    // The map's own iterator when it has started: no layer of promises per item.
    if (run instanceof MapRun) return run
    return {
      next: async () => await (await run).next(),
      return: async () => await (await run).return()
    }
  }

  then<R1 = R[], R2 = never> (
    onFulfilled?: ((value: R[]) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: any) => R2 | PromiseLike<R2>) | null
  ): Promise<R1 | R2> {
    return this.collect().then(onFulfilled, onRejected)
  }

  /** Starts the map, once: a map result can be consumed only once. */
  private consume (): MapRun<R> | Promise<MapRun<R>> {
    if (this.iterated) throw new InvalidArgumentError('a map result can be consumed only once')
    this.iterated = true
    return this.run instanceof MapRun ? this.run : this.run()
  }

  private async collect (): Promise<R[]> {
    const run = this.consume()
    return await (run instanceof MapRun ? run : await run).all()
  }
}

function splitOptions (rest: unknown[], call: string): { iterables: Array<Iterable<unknown>>, options: MapOptions } {
  let options: MapOptions = {}
  const last = rest[rest.length - 1]
  if (rest.length > 1 && last != null && typeof last === 'object' && !(Symbol.iterator in last)) {
    options = rest.pop() as MapOptions
    checkWaitOptions(options, call)
    checkRetryOptions(options, call)
    if (options.progress !== undefined && typeof options.progress !== 'boolean' && options.progress !== 'force') {
      throw new InvalidArgumentError(`${call}: options.progress must be true, false or 'force', got ${String(options.progress)}`)
    }
  }
  if (rest.length === 0) throw new InvalidArgumentError(`${call}: at least one iterable of inputs is needed`)
  for (let k = 0; k < rest.length; k++) {
    const it = rest[k]
    if (it == null || typeof (it as any)[Symbol.iterator] !== 'function') {
      throw new InvalidArgumentError(`${call}: argument ${k + 2} is not iterable (got ${it === null ? 'null' : typeof it}); pass arrays, Sets, generators or other iterables`)
    }
  }
  return { iterables: rest as Array<Iterable<unknown>>, options }
}

/**
 * The inputs zipped into argument lists, until the shortest ends; the inputs' iterators are
 * closed then. (A plain iterator rather than a generator: a nested map of two items, as in a
 * tree of tasks, spent a tenth of its allocations on the generator.)
 */
class Zip implements Iterator<unknown[]> {
  private readonly iterators: Array<Iterator<unknown>>
  private done = false

  constructor (iterables: Array<Iterable<unknown>>) {
    this.iterators = iterables.map(it => it[Symbol.iterator]())
  }

  next (): IteratorResult<unknown[]> {
    if (!this.done) {
      const tuple: unknown[] = new Array(this.iterators.length)
      let k = 0
      try {
        for (; k < this.iterators.length; k++) {
          const next = this.iterators[k].next()
          if (next.done === true) break
          tuple[k] = next.value
        }
      } catch (err) {
        this.close()
        throw err
      }
      if (k === this.iterators.length) return { value: tuple, done: false }
      this.close()
    }
    return { value: undefined, done: true }
  }

  /** The consumer stops early. */
  return (): IteratorResult<unknown[]> {
    if (!this.done) this.close()
    return { value: undefined, done: true }
  }

  private close (): void {
    this.done = true
    for (const it of this.iterators) it.return?.()
  }
}

function knownLength (iterables: Array<Iterable<unknown>>): number | undefined {
  let n = Infinity
  for (const it of iterables) {
    const len = Array.isArray(it) || ArrayBuffer.isView(it) ? (it as any).length : (it instanceof Set || it instanceof Map) ? it.size : undefined
    if (len === undefined) return undefined
    n = Math.min(n, len)
  }
  return n
}

const labelOf = (call: string, fn: unknown): string => `${call}(${(fn as Function)?.name || 'anonymous'})`

/** The map, started at once if the mesh is up; else how to start it (see MapResult). `rest`: the call's own rest array (options are taken off it). */
function startMap<R> (call: string, fn: Function, rest: unknown[], ordered: boolean): MapRun<R> | (() => Promise<MapRun<R>>) {
  FunctionRegistry.precheck(fn, call)
  const { iterables, options } = splitOptions(rest, call)
  const label = labelOf(call, fn)
  const begin = (rt: ExecutorRuntime): MapRun<R> =>
    new MapRun<R>(rt, rt.registry.referenceOf(fn, call), label, new Zip(iterables), knownLength(iterables), { ...options, ordered })
  const rt = readyRuntime()
  if (rt != null) return begin(rt)
  // No mesh yet: the first call of a script run without the launcher starts one.
  return async () => begin(await taskRuntime(call))
}

/**
 * Applies `fn` to every item of the inputs (several inputs are zipped, the shortest wins), on
 * the workers of the mesh. `await` it for an array in input order, or `for await` it to get
 * each result as soon as it and all before it are ready. A plain object as the last argument
 * is options: `{ timeout, signal }`.
 *
 * @example
 * const squares = await futures.map(Math.abs, [-1, -2, 3])
 */
export function map<F extends (...args: any[]) => any, I extends Array<Iterable<unknown>>> (
  fn: F, ...inputs: [...I] | [...I, MapOptions]
): MapResult<Awaited<ReturnType<F>>> {
  return new MapResult(startMap(`futures.map`, fn, inputs, true))
}

/** Like map, but results come in the order they complete. */
export function mapAsCompleted<F extends (...args: any[]) => any> (
  fn: F, ...inputs: Array<Iterable<unknown> | MapOptions>
): AsyncIterable<Awaited<ReturnType<F>>> {
  return new MapResult(startMap(`futures.mapAsCompleted`, fn, inputs, false))
}

/**
 * Maps, then folds the results from the left, in input order, on the caller:
 * `reduce(reduce(r0, r1), r2)...`, so a non-commutative reduction gives the serial answer.
 * One result is returned as is; an empty input rejects with a TypeError, as Array#reduce does.
 */
export async function mapReduce<R> (mapFn: (...args: any[]) => R | Promise<R>, reduceFn: (acc: Awaited<R>, next: Awaited<R>) => Awaited<R>, ...inputs: Array<Iterable<unknown> | MapOptions>): Promise<Awaited<R>> {
  if (typeof reduceFn !== 'function') throw new InvalidArgumentError('futures.mapReduce: the reduction must be a function')
  let acc: Awaited<R> | undefined
  let first = true
  for await (const value of new MapResult<Awaited<R>>(startMap('futures.mapReduce', mapFn, inputs, true))) {
    acc = first ? value : reduceFn(acc as Awaited<R>, value)
    first = false
  }
  if (first) throw new TypeError('futures.mapReduce of an empty input has no value')
  return acc as Awaited<R>
}

/** Like mapReduce, but returns every prefix of the fold: [r0, f(r0, r1), f(f(r0, r1), r2), ...]. */
export async function mapScan<R> (mapFn: (...args: any[]) => R | Promise<R>, reduceFn: (acc: Awaited<R>, next: Awaited<R>) => Awaited<R>, ...inputs: Array<Iterable<unknown> | MapOptions>): Promise<Array<Awaited<R>>> {
  if (typeof reduceFn !== 'function') throw new InvalidArgumentError('futures.mapScan: the reduction must be a function')
  const out: Array<Awaited<R>> = []
  for await (const value of new MapResult<Awaited<R>>(startMap('futures.mapScan', mapFn, inputs, true))) {
    out.push(out.length === 0 ? value : reduceFn(out[out.length - 1], value))
  }
  return out
}

/**
 * Runs `fn(...args)` on some worker of the mesh and returns its Future at once. A closure or an
 * argument that cannot travel throws here, at the call.
 */
export function submit<F extends (...args: any[]) => any> (fn: F, ...args: Parameters<F>): Future<Awaited<ReturnType<F>>> {
  return submitTask(fn, args, {}, 'futures.submit')
}

/**
 * futures.submit with options first: `{ retries: 0 }` for a task that must not run twice (not
 * idempotent). If the worker holding it is lost, its future rejects with WorkerLostError.
 *
 * @example
 * const receipt = await futures.submitWith({ retries: 0 }, chargeCard, order)
 */
export function submitWith<F extends (...args: any[]) => any> (options: SubmitOptions, fn: F, ...args: Parameters<F>): Future<Awaited<ReturnType<F>>> {
  if (options == null || typeof options !== 'object') throw new InvalidArgumentError('futures.submitWith: the first argument must be an options object such as { retries: 0 }')
  checkRetryOptions(options, 'futures.submitWith')
  return submitTask(fn, args, options, 'futures.submitWith')
}

function submitTask<F extends (...args: any[]) => any> (fn: F, args: unknown[], options: SubmitOptions, call: string): Future<Awaited<ReturnType<F>>> {
  FunctionRegistry.precheck(fn, call)
  let plain = true
  for (let k = 0; k < args.length; k++) {
    if (isImmutable(args[k])) continue
    plain = false
    assertEncodable(args[k], () => `argument ${k + 1} of ${call}(${fn.name})`)
  }
  const payload = encodeChecked(args, () => `the arguments of ${call}(${fn.name})`)
  // (A rest parameter's array: nobody else holds it.)
  const task = new SubmittedTask<Awaited<ReturnType<F>>>(`${fn.name}()`, plain ? args : undefined)
  const rt = readyRuntime()
  if (rt != null) {
    task.send(rt, fn, call, payload, options.retries)
  } else {
    taskRuntime(call).then(r => { if (!task.future.cancelled()) task.send(r, fn, call, payload, options.retries) }).catch(err => { task.future.settle({ ok: false, error: err }) })
  }
  return task.future
}

/**
 * A task of futures.submit on its way: what the executor calls back (see Submission), and what
 * its Future cancels. One object for all of these, not a closure each: a flood holds thousands.
 */
class SubmittedTask<R> implements TaskCanceller {
  readonly future: Future<R>
  private rt: ExecutorRuntime | undefined
  private seq: number | undefined

  constructor (label: string, readonly plainArgs: unknown[] | undefined) {
    this.future = new Future<R>(label, this)
  }

  send (rt: ExecutorRuntime, fn: (...args: any[]) => any, call: string, payload: Uint8Array, retries: number | undefined): void {
    this.rt = rt
    this.seq = rt.submit(rt.registry.referenceOf(fn, call), payload, 0, this, retries)
  }

  cancelTask (): void {
    if (this.seq !== undefined) this.rt?.cancel(this.seq)
  }

  onResult (ok: boolean, data: Uint8Array, _peer: string, _ms: number, plain?: { value: unknown }): void {
    let outcome: { ok: true, value: R } | { ok: false, error: Error }
    try {
      outcome = ok ? { ok: true, value: (plain !== undefined ? plain.value : decodeValue(data)) as R } : { ok: false, error: deserializeError(decodeValue(data) as any) }
    } catch (err) {
      outcome = { ok: false, error: err as Error }
    }
    this.future.settle(outcome)
  }

  onStarted (): void { this.future.markRunning() }
}

export type ReturnWhen = 'FIRST_COMPLETED' | 'FIRST_EXCEPTION' | 'ALL_COMPLETED'

export interface WaitResult<F extends Future<any>> { done: Set<F>, notDone: Set<F> }

function checkFutures<F extends Future<any>> (fs: Iterable<F>, call: string): F[] {
  if (fs == null || typeof (fs as any)[Symbol.iterator] !== 'function') throw new InvalidArgumentError(`${call}: expected an iterable of Futures`)
  const list = [...fs]
  for (const f of list) if (!(f instanceof Future)) throw new InvalidArgumentError(`${call}: every item must be a Future from futures.submit`)
  return list
}

/**
 * Yields the given Futures (not their values) as they finish. With `timeout`, the iteration
 * throws TimeoutError if they are not all done in time.
 */
export function asCompleted<F extends Future<any>> (fs: Iterable<F>, options: WaitOptions = {}): AsyncIterable<F> {
  checkWaitOptions(options, 'futures.asCompleted')
  const pending = new Set(checkFutures(fs, 'futures.asCompleted'))
  const deadline = options.timeout === undefined ? undefined : Date.now() + options.timeout
  const finished: F[] = []
  let wake: (() => void) | undefined
  for (const f of pending) {
    f.addDoneCallback(() => { finished.push(f); const w = wake; wake = undefined; w?.() })
  }
  // A plain iterator object: an async generator would unwrap the thenable Futures it yields.
  const iterator: AsyncIterator<F> = {
    next: async () => {
      if (finished.length === 0 && pending.size > 0) {
        const arrived = new Promise<void>(resolve => { wake = resolve })
        const timeout = deadline === undefined ? undefined : Math.max(0, deadline - Date.now())
        await waitFor(arrived, { timeout, signal: options.signal }, () =>
          new TimeoutError(`futures.asCompleted timed out after ${options.timeout} ms with ${pending.size} of the futures not done`))
      }
      const f = finished.shift()
      if (f === undefined) return { value: undefined, done: true }
      pending.delete(f)
      return { value: f, done: false }
    }
  }
  return { [Symbol.asyncIterator]: () => iterator }
}

/**
 * Waits until the futures are done (`ALL_COMPLETED`, the default), one is (`FIRST_COMPLETED`), or
 * one fails (`FIRST_EXCEPTION`), or the timeout passes; returns `{ done, notDone }`. It never
 * throws on timeout: whatever is not done is in `notDone`.
 */
export async function wait<F extends Future<any>> (fs: Iterable<F>, options: WaitOptions & { returnWhen?: ReturnWhen } = {}): Promise<WaitResult<F>> {
  checkWaitOptions(options, 'futures.wait')
  const returnWhen = options.returnWhen ?? 'ALL_COMPLETED'
  if (!['FIRST_COMPLETED', 'FIRST_EXCEPTION', 'ALL_COMPLETED'].includes(returnWhen)) {
    throw new InvalidArgumentError(`futures.wait: returnWhen must be 'FIRST_COMPLETED', 'FIRST_EXCEPTION' or 'ALL_COMPLETED', got ${String(returnWhen)}`)
  }
  const list = checkFutures(fs, 'futures.wait')
    const satisfied = (): boolean => {
    const done = list.filter(f => f.done())
    if (returnWhen === 'FIRST_COMPLETED') return done.length > 0 || list.length === 0
    if (returnWhen === 'FIRST_EXCEPTION') return done.some(f => f.failed()) || done.length === list.length
    return done.length === list.length
  }
  if (!satisfied()) {
    const condition = new Promise<void>(resolve => {
      for (const f of list) f.addDoneCallback(() => { if (satisfied()) resolve() })
    })
    try {
      await waitFor(condition, options, () => new TimeoutError('futures.wait timed out'))
    } catch (err) {
      if ((err as Error).name !== 'TimeoutError') throw err
    }
  }
  const done = new Set(list.filter(f => f.done()))
  return { done, notDone: new Set(list.filter(f => !done.has(f))) }
}

/**
 * Ends this program's use of the mesh. With `wait` (the default) it first waits for every
 * pending future; without, pending futures reject. Later futures calls fail.
 */
export async function shutdown (options: { wait?: boolean } = {}): Promise<void> {
  const rt = readyRuntime()
  if (rt == null) return
  if (options.wait !== false) await rt.whenIdle()
  rt.shutdown()
}
