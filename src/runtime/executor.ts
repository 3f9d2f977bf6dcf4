// The executor: the side of a peer that holds the user's module. It runs the tasks its host
// hands it, submits the tasks the user's code creates, and keeps the Futures and the replica
// of shared constants that the public API reads. One per thread that runs user code.

import type { MessagePort } from 'node:worker_threads'
import { performance } from 'node:perf_hooks'
import { FunctionRegistry } from './functions.js'
import { BatchedPort, type ExecutorToHost, type HostToExecutor, type RuntimeInfo } from './thread-messages.js'
import { decodeValue, encodeValue, serializeError, type SerializedError } from './encoding.js'
import { encode } from '../core/codec.js'
import { ConstantNotFoundError, ConstantRedefinedError, MeshError } from '../errors.js'
import { waitFor, type WaitOptions } from './waiting.js'
import { GET_CONST_DEFAULT_TIMEOUT_MS } from '../defaults.js'
import type { FunctionRef } from '../core/wire.js'

/** How a finished task reaches whoever submitted it. */
export type ResultHandler = (ok: boolean, data: Uint8Array, peer: string, ms: number) => void

interface Submission {
  onResult: ResultHandler
  onStarted?: () => void
}

/** What a map chunk sends back: the values in order, and the error that stopped it, if any. */
export interface ChunkResult {
  v: unknown[]
  e?: SerializedError
}

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  v != null && (typeof v === 'object' || typeof v === 'function') && typeof (v as any).then === 'function'

export class ExecutorRuntime {
  readonly registry: FunctionRegistry
  info: RuntimeInfo
  private readonly out: BatchedPort<ExecutorToHost>
  private nextSeq = 1
  private nextReq = 1
  private readonly submissions = new Map<number, Submission>()
  private readonly constBytes = new Map<string, Uint8Array>()
  private readonly constValues = new Map<string, unknown>()
  private readonly constWaiters = new Map<string, Set<() => void>>()
  private readonly setConstReplies = new Map<number, { resolve: () => void, reject: (err: Error) => void }>()
  private activeTasks = 0
  private closed = false
  private idleWaiters: Array<() => void> = []
  /** Tasks that arrived before the module's exports were known. */
  private waitingForModule: Array<Extract<HostToExecutor, { k: 'run' }>> | undefined = []

  constructor (private readonly port: MessagePort, readonly isOrigin: boolean, moduleUrl: string, info: RuntimeInfo) {
    this.registry = new FunctionRegistry(moduleUrl)
    this.info = info
    this.out = new BatchedPort(port)
    port.on('message', (batch: HostToExecutor[]) => { this.onBatch(batch) })
    port.on('close', () => { this.onHostGone() })
    this.updateRef()
  }

  /** The run's module is imported: record its exports, tell the host, run what waited. */
  moduleLoaded (ns: Record<string, unknown>): void {
    this.registry.addNamespace(ns)
    this.out.post({ k: 'ready' })
    const waiting = this.waitingForModule ?? []
    this.waitingForModule = undefined
    for (const task of waiting) void this.runTask(task)
  }

  // ---- submitting ---------------------------------------------------------------------------

  submit (fn: FunctionRef, payload: Uint8Array, chunk: number, submission: Submission, retries?: number): number {
    if (this.closed) throw new MeshError('the scoop-node mesh has been shut down')
    const seq = this.nextSeq++
    this.submissions.set(seq, submission)
    this.out.post({ k: 'submit', seq, fn, payload, chunk, ...(retries !== undefined ? { retries } : {}) })
    this.updateRef()
    return seq
  }

  cancel (seq: number): void {
    if (this.submissions.delete(seq)) {
      this.out.post({ k: 'cancel', seq })
      this.updateRef()
    }
  }

  get pendingCount (): number { return this.submissions.size }

  /** Resolves when no submitted task is pending. */
  async whenIdle (): Promise<void> {
    if (this.submissions.size === 0) return
    await new Promise<void>(resolve => { this.idleWaiters.push(resolve) })
  }

  // ---- shared constants ---------------------------------------------------------------------

  async setConst (entries: Array<{ name: string, data: Uint8Array }>): Promise<void> {
    for (const { name } of entries) {
      if (this.constBytes.has(name)) throw redefined(name)
    }
    const req = this.nextReq++
    const reply = new Promise<void>((resolve, reject) => { this.setConstReplies.set(req, { resolve, reject }) })
    this.out.post({ k: 'setConst', req, entries })
    this.updateRef()
    try {
      await reply
    } finally {
      this.setConstReplies.delete(req)
      this.updateRef()
    }
  }

  async getConst (name: string, options: WaitOptions): Promise<unknown> {
    if (!this.constBytes.has(name)) {
      let wake!: () => void
      const arrived = new Promise<void>(resolve => { wake = resolve })
      const waiters = this.constWaiters.get(name) ?? new Set()
      waiters.add(wake)
      this.constWaiters.set(name, waiters)
      this.updateRef()
      const timeout = options.timeout ?? GET_CONST_DEFAULT_TIMEOUT_MS
      try {
        await waitFor(arrived, { ...options, timeout }, () =>
          new ConstantNotFoundError(`shared.getConst('${name}'): no constant of that name was defined within ${timeout} ms`))
      } finally {
        waiters.delete(wake)
        if (waiters.size === 0) this.constWaiters.delete(name)
        this.updateRef()
      }
    }
    if (!this.constValues.has(name)) this.constValues.set(name, decodeValue(this.constBytes.get(name)!))
    return this.constValues.get(name)
  }

  /** Stops accepting work: pending futures reject, the host is asked to stop. */
  shutdown (): void {
    if (this.closed) return
    this.out.post({ k: 'shutdown' })
    this.out.flush()
    this.onHostGone()
  }

  // ---- from the host ------------------------------------------------------------------------

  private onBatch (batch: HostToExecutor[]): void {
    for (const msg of batch) {
      switch (msg.k) {
        case 'run':
          if (this.waitingForModule != null) this.waitingForModule.push(msg)
          else void this.runTask(msg)
          break
        case 'resolve': {
          const submission = this.submissions.get(msg.seq)
          if (submission == null) break
          this.submissions.delete(msg.seq)
          submission.onResult(msg.ok, msg.data, msg.peer, msg.ms)
          break
        }
        case 'started': this.submissions.get(msg.seq)?.onStarted?.(); break
        case 'consts':
          for (const { name, data } of msg.entries) {
            if (this.constBytes.has(name)) continue
            this.constBytes.set(name, data)
            for (const wake of this.constWaiters.get(name) ?? []) wake()
          }
          break
        case 'setConstReply': {
          const waiter = this.setConstReplies.get(msg.req)
          if (waiter == null) break
          if (msg.error === '') waiter.resolve()
          else waiter.reject(msg.error.startsWith('redefined:') ? redefined(msg.error.slice('redefined:'.length)) : new MeshError(msg.error))
          break
        }
        case 'info': this.info = msg.info; break
      }
    }
    this.updateRef()
  }

  private onHostGone (): void {
    if (this.closed) return
    this.closed = true
    const error = new MeshError('the scoop-node mesh was shut down before this task finished')
    const data = encode(serializeError(error, this.info.workerName))
    for (const [seq, submission] of this.submissions) {
      this.submissions.delete(seq)
      submission.onResult(false, data, this.info.workerName, 0)
    }
    for (const waiter of this.setConstReplies.values()) waiter.reject(error)
    this.port.unref()
  }

  // ---- running tasks ------------------------------------------------------------------------

  private async runTask (task: Extract<HostToExecutor, { k: 'run' }>): Promise<void> {
    this.activeTasks++
    this.updateRef()
    if (task.owner === this.info.peerId) this.submissions.get(task.seq)?.onStarted?.()
    const started = performance.now()
    let yielded = false
    const yieldThread = (): void => {
      if (yielded) return
      yielded = true
      this.out.post({ k: 'yield', owner: task.owner, seq: task.seq })
    }
    let ok = true
    let data: Uint8Array
    try {
      const fn = this.registry.resolve(task.fn)
      const args = decodeValue(task.payload) as unknown[]
      let result: unknown
      if (task.chunk > 0) {
        const chunk: ChunkResult = { v: [] }
        for (const itemArgs of args as unknown[][]) {
          try {
            let value = fn(...itemArgs)
            if (isThenable(value)) { yieldThread(); value = await value }
            chunk.v.push(value)
          } catch (err) {
            chunk.e = serializeError(err, this.info.workerName)
            break
          }
        }
        result = chunk
      } else {
        result = fn(...args)
        if (isThenable(result)) { yieldThread(); result = await result }
      }
      data = encodeValue(result, `the result of ${task.fn.slice(task.fn.indexOf(':') + 1)}`)
    } catch (err) {
      ok = false
      data = encode(serializeError(err, this.info.workerName))
    }
    this.activeTasks--
    this.out.post({ k: 'result', owner: task.owner, seq: task.seq, ok, data, ms: performance.now() - started })
    // Send it now: another task may run next in this same turn, and its owner should not wait for that one.
    this.out.flush()
    this.updateRef()
  }

  /**
   * The port keeps this thread alive only while something is pending, so that the origin's
   * thread ends when the user's program is done. A worker's executor always stays.
   */
  private updateRef (): void {
    if (this.submissions.size === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters
      this.idleWaiters = []
      for (const wake of waiters) wake()
    }
    if (this.closed) return
    const busy = !this.isOrigin || this.submissions.size > 0 || this.activeTasks > 0 ||
      this.constWaiters.size > 0 || this.setConstReplies.size > 0
    if (busy) this.port.ref()
    else this.port.unref()
  }
}

function redefined (name: string): ConstantRedefinedError {
  return new ConstantRedefinedError(`shared.setConst: the constant '${name}' is already defined in this pool; a constant can be defined only once`)
}

