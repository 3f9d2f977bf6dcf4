// The executor: the side of a peer that holds the user's module. It runs the tasks its host
// hands it, submits the tasks the user's code creates, and keeps the Futures and the replica
// of shared constants that the public API reads. One per thread that runs user code.
// The tasks it submits it runs itself too, newest first, unless its host gave them to a thief
// first (see TaskClaims): a task run here costs no trip to the host thread and back.

import type { MessagePort } from 'node:worker_threads'
import { performance } from 'node:perf_hooks'
import { FunctionRegistry } from './functions.js'
import { BatchedPort, onBatches, type ExecutorToHost, type HostToExecutor, type RuntimeInfo } from './thread-messages.js'
import { decodeValue, encodeValue, isImmutable, serializeError, type SerializedError } from './encoding.js'
import { encode } from '../core/codec.js'
import { ConstantNotFoundError, ConstantRedefinedError, MeshError } from '../errors.js'
import { waitFor, type WaitOptions } from './waiting.js'
import { EXECUTOR_BATCH_MS, EXECUTOR_RESULT_HOLD_MAX_MS, EXECUTOR_RESULT_HOLD_MS, GET_CONST_DEFAULT_TIMEOUT_MS, MAX_SUSPENDED_TASKS } from '../defaults.js'
import type { FunctionRef, PeerId } from '../core/wire.js'
import { Deque } from '../core/deque.js'
import { TaskClaims } from './task-claims.js'

/**
 * How a finished task reaches whoever submitted it: its result or error encoded, or, for a task
 * run here whose result is made of immutable values only (see isImmutable), the value itself
 * (`plain`; `data` is then empty): decoding a copy of it would give the same.
 */
export type ResultHandler = (ok: boolean, data: Uint8Array, peer: string, ms: number, plain?: { value: unknown }) => void

interface Submission {
  onResult: ResultHandler
  onStarted?: () => void
  /**
   * The arguments themselves (an argument list, or a map chunk's lists), when they are made of
   * immutable values only: a task run here then runs on them without decoding its payload. The
   * submitter must not change the array afterwards.
   */
  plainArgs?: unknown[]
  /**
   * Tasks submitted with the same object (a map's chunks) that this executor runs itself run in
   * the order they were submitted, so that the map's results come in input order.
   */
  inOrderWith?: object
}

/**
 * Own tasks not run yet: those submitted with the same `inOrderWith`, which run in their order,
 * or (key undefined) tasks submitted one after another without one, which run newest first. The
 * newest group runs first: depth-first for nested tasks, like the scheduler's deque.
 */
interface OwnTaskGroup {
  key: object | undefined
  tasks: Deque<TaskToRun>
}

/** What a map chunk sends back: the values in order, and the error that stopped it, if any. */
export interface ChunkResult {
  v: unknown[]
  e?: SerializedError
}

/** A task to run here: one the host handed over (with its owner), or one of this executor's own (owner undefined). */
interface TaskToRun {
  owner?: PeerId
  seq: number
  fn: FunctionRef
  payload: Uint8Array
  chunk: number
  /** See Submission.plainArgs. */
  plainArgs?: unknown[]
}

/** A task while it runs. */
interface RunningTask {
  task: TaskToRun
  own: boolean
  started: number
  yielded: boolean
  /** How long it ran before it first awaited, ms. */
  syncMs: number
}

/** The data of an own task's successful result: the host only counts it (the future is settled here). */
const NO_DATA = new Uint8Array(0)

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
  /** Whether the port keeps this thread alive now (see updateRef); a fresh port does. */
  private portRefed = true
  private closed = false
  private idleWaiters: Array<() => void> = []
  /**
   * Run time of each function's last tasks (a moving average; until it awaits, for a task that
   * does), ms: decides when results are sent (see EXECUTOR_RESULT_HOLD_MS).
   */
  private readonly runMs = new Map<FunctionRef, number>()
  /** When the first result of another peer's task was held in `out` (performance.now()). */
  private heldSince = 0
  /** `out.batchesSent` when that result was held (-1: none yet): a batch sent since has taken it. */
  private heldInBatch = -1
  /** Tasks that arrived before the module's exports were known. */
  private waitingForModule: Array<Extract<HostToExecutor, { k: 'run' }>> | undefined = []
  /** Shared with the host: which side runs each task offered (see TaskClaims). */
  private readonly claims = TaskClaims.create()
  /** The host lets this executor run its own tasks (it does not on an origin started with --no-origin-tasks). */
  private runsOwnTasks: boolean
  /** Own tasks offered and not run yet, in groups (see OwnTaskGroup), the newest group last. */
  private readonly ownGroups: OwnTaskGroup[] = []
  private readonly ownGroupOf = new Map<object, OwnTaskGroup>()
  private ownRunScheduled = false
  /** Own tasks run here that await something. */
  private ownSuspended = 0

  /**
   * `runsOwnTasks`: run the tasks it submits itself from the start, before its host (whose
   * libp2p node may still be loading) says whether it may (it does not on an origin started
   * with --no-origin-tasks).
   */
  constructor (private readonly port: MessagePort, readonly isOrigin: boolean, moduleUrl: string, info: RuntimeInfo, runsOwnTasks = false) {
    this.registry = new FunctionRegistry(moduleUrl)
    this.info = info
    this.runsOwnTasks = runsOwnTasks
    this.out = new BatchedPort(port)
    onBatches<HostToExecutor>(port, batch => { this.onBatch(batch) })
    port.on('close', () => { this.onHostGone() })
    this.updateRef()
  }

  /** The run's module is imported: record its exports, tell the host, run what waited. */
  moduleLoaded (ns: Record<string, unknown>): void {
    this.registry.addNamespace(ns)
    // The first message (its starter takes any message for "module loaded"): the claims, then ready.
    this.out.post({ k: 'claims', buffer: this.claims.buffer })
    this.out.post({ k: 'ready' })
    const waiting = this.waitingForModule ?? []
    this.waitingForModule = undefined
    for (const task of waiting) this.runTask(task)
  }

  // ---- submitting ---------------------------------------------------------------------------

  submit (fn: FunctionRef, payload: Uint8Array, chunk: number, submission: Submission, retries?: number): number {
    if (this.closed) throw new MeshError('the scoop-node mesh has been shut down')
    const seq = this.nextSeq++
    this.submissions.set(seq, submission)
    const offered = this.runsOwnTasks && this.claims.offer(seq)
    // The host needs an offered task only to give it to a thief: it can wait a little.
    this.out.post({ k: 'submit', seq, fn, payload, chunk, retries, offered }, offered ? 'later' : 'soon')
    if (offered) {
      this.queueOwnTask({ seq, fn, payload, chunk, plainArgs: submission.plainArgs }, submission.inOrderWith)
      this.scheduleOwnTasks()
    }
    this.updateRef()
    return seq
  }

  cancel (seq: number): void {
    if (this.submissions.delete(seq)) {
      // An offered task nobody took yet is taken here, so that nobody runs it (a no-op for others).
      this.claims.take(seq)
      this.out.post({ k: 'cancel', seq })
      this.updateRef()
    }
  }

  private queueOwnTask (task: TaskToRun, inOrderWith: object | undefined): void {
    const newest = this.ownGroups.at(-1)
    let group = inOrderWith === undefined ? (newest?.key === undefined ? newest : undefined) : this.ownGroupOf.get(inOrderWith)
    if (group === undefined) {
      group = { key: inOrderWith, tasks: new Deque() }
      this.ownGroups.push(group)
      if (inOrderWith !== undefined) this.ownGroupOf.set(inOrderWith, group)
    }
    group.tasks.push(task)
  }

  /** The next own task to run, of the newest group (see OwnTaskGroup). */
  private nextOwnTask (): TaskToRun | undefined {
    for (let group = this.ownGroups.at(-1); group !== undefined; group = this.ownGroups.at(-1)) {
      const task = group.key === undefined ? group.tasks.pop() : group.tasks.shift()
      if (task !== undefined) return task
      this.ownGroups.pop()
      if (group.key !== undefined) this.ownGroupOf.delete(group.key)
    }
    return undefined
  }

  /** Own tasks run at the next turn of the event loop, after the code that submitted them has gone on to wait. */
  private scheduleOwnTasks (): void {
    if (this.ownRunScheduled || this.ownGroups.length === 0) return
    this.ownRunScheduled = true
    setImmediate(() => { this.runOwnTasks() })
  }

  /**
   * Runs own tasks (see OwnTaskGroup) for about EXECUTOR_BATCH_MS, then lets the event loop turn
   * (results from other peers, tasks from the host) and goes on. A task the host took first
   * (for a thief) is skipped: its result comes from there.
   */
  private runOwnTasks (): void {
    this.ownRunScheduled = false
    const until = performance.now() + EXECUTOR_BATCH_MS
    while (this.ownSuspended < MAX_SUSPENDED_TASKS) {
      const task = this.nextOwnTask()
      if (task === undefined) break
      if (!this.submissions.has(task.seq) || !this.claims.take(task.seq)) continue
      this.sendHeldBefore(task.fn)
      this.runTask(task)
      if (performance.now() >= until) break
    }
    this.scheduleOwnTasks()
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
          if (this.waitingForModule != null) {
            this.waitingForModule.push(msg)
            break
          }
          this.sendHeldBefore(msg.fn)
          this.runTask(msg)
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
        case 'ownTasks': this.runsOwnTasks = msg.run; break
      }
    }
    this.updateRef()
  }

  /** Results of other peers' tasks wait in `out`: no batch has been sent since the first was held. */
  private get holdingResults (): boolean {
    return this.heldInBatch === this.out.batchesSent
  }

  /** A result for another peer is posted: it goes out when this batch of tasks is done (see sendHeldBefore). */
  private holdResult (now: number): void {
    if (this.holdingResults) return
    this.heldInBatch = this.out.batchesSent
    this.heldSince = now
  }

  /**
   * Messages wait to go together: other peers' results until the batch of tasks that made them
   * is done (BatchedPort sends them when the code that ran the batch returns), offered tasks and
   * own results a little longer (see Sending). Before a task that may take a while (of a function
   * not seen yet, or slower than EXECUTOR_RESULT_HOLD_MS), they go at once: the results' owners
   * would wait for that task, and the host could not give the offered tasks to thieves while it
   * holds this thread (two 17-s tasks submitted together ran one after the other here). Results
   * also go once held for EXECUTOR_RESULT_HOLD_MAX_MS.
   */
  private sendHeldBefore (fn: FunctionRef): void {
    if (this.out.held === 0) return
    const expected = this.runMs.get(fn)
    if (expected === undefined || expected > EXECUTOR_RESULT_HOLD_MS ||
      (this.holdingResults && performance.now() - this.heldSince > EXECUTOR_RESULT_HOLD_MAX_MS)) this.out.flush()
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

  /**
   * Runs a task: an own one (no owner) settles its future here and the host is told; another's
   * result goes to the host. A task that returns a value (not a promise) runs and ends in this
   * one call.
   */
  private runTask (task: TaskToRun): void {
    const own = task.owner === undefined
    this.activeTasks++
    if (own) this.claims.addRunning(1)
    this.updateRef()
    if (own || task.owner === this.info.peerId) this.submissions.get(task.seq)?.onStarted?.()
    const running: RunningTask = { task, own, started: performance.now(), yielded: false, syncMs: 0 }
    let fn: (...args: unknown[]) => unknown
    let args: unknown[]
    let result: unknown
    try {
      fn = this.registry.resolve(task.fn) as (...args: unknown[]) => unknown
      args = task.plainArgs ?? decodeValue(task.payload) as unknown[]
      if (task.chunk > 0) {
        this.runChunk(running, fn, args as unknown[][], { v: [] }, 0)
        return
      }
      result = fn(...args)
    } catch (err) {
      this.finishTask(running, false, err)
      return
    }
    if (!isThenable(result)) {
      this.finishTask(running, true, result)
      return
    }
    this.yieldThread(running)
    Promise.resolve(result).then(value => { this.finishTask(running, true, value) }, err => { this.finishTask(running, false, err) })
  }

  /**
   * Runs a map chunk's items from `from` on, in order: at once while they return values, after
   * each promise otherwise. An item's error ends the chunk, and travels with the values before it.
   */
  private runChunk (running: RunningTask, fn: (...args: unknown[]) => unknown, items: unknown[][], chunk: ChunkResult, from: number): void {
    for (let k = from; k < items.length; k++) {
      let value: unknown
      try {
        value = fn(...items[k])
      } catch (err) {
        chunk.e = serializeError(err, this.info.workerName)
        break
      }
      if (isThenable(value)) {
        this.yieldThread(running)
        Promise.resolve(value).then(v => {
          chunk.v.push(v)
          this.runChunk(running, fn, items, chunk, k + 1)
        }, err => {
          chunk.e = serializeError(err, this.info.workerName)
          this.finishTask(running, true, chunk)
        })
        return
      }
      chunk.v.push(value)
    }
    this.finishTask(running, true, chunk)
  }

  /** The task awaits something: the thread is free for other tasks meanwhile. */
  private yieldThread (running: RunningTask): void {
    if (running.yielded) return
    running.yielded = true
    running.syncMs = performance.now() - running.started
    if (running.own) {
      this.claims.addRunning(-1)
      this.ownSuspended++
    } else {
      this.out.post({ k: 'yield', owner: running.task.owner as PeerId, seq: running.task.seq })
    }
  }

  /** The task returned `outcome` (ok) or threw it: its result goes to its owner. */
  private finishTask (running: RunningTask, ok: boolean, outcome: unknown): void {
    const { task, own, started, yielded } = running
    let data: Uint8Array = NO_DATA
    let plain: { value: unknown } | undefined
    if (ok && own && isPlainResult(outcome, task.chunk)) {
      plain = { value: outcome }
    } else {
      try {
        data = ok ? encodeValue(outcome, () => `the result of ${task.fn.slice(task.fn.indexOf(':') + 1)}`) : encode(serializeError(outcome, this.info.workerName))
      } catch (err) {
        ok = false
        data = encode(serializeError(err, this.info.workerName))
      }
    }
    this.activeTasks--
    const ms = performance.now() - started
    const ranMs = yielded ? running.syncMs : ms
    this.runMs.set(task.fn, 0.5 * (this.runMs.get(task.fn) ?? ranMs) + 0.5 * ranMs)
    // Another peer's result goes when this batch of tasks is done; an own task's, whose future is
    // settled here, a little later (see sendHeldBefore, Sending).
    if (own) {
      if (yielded) this.ownSuspended--
      else this.claims.addRunning(-1)
      const submission = this.submissions.get(task.seq)
      this.submissions.delete(task.seq)
      submission?.onResult(ok, data, this.info.workerName, ms, plain)
      this.out.post({ k: 'ownResult', seq: task.seq, ok, data: ok ? NO_DATA : data, ms }, 'later')
    } else {
      this.holdResult(started + ms)
      this.out.post({ k: 'result', owner: task.owner as PeerId, seq: task.seq, ok, data, ms })
    }
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
    // (This runs several times per task: only a change reaches the port.)
    if (busy === this.portRefed) return
    this.portRefed = busy
    if (busy) this.port.ref()
    else this.port.unref()
  }
}

/** A task's result (or a map chunk's, without an error) made of immutable values only. */
function isPlainResult (outcome: unknown, chunk: number): boolean {
  if (chunk === 0) return isImmutable(outcome)
  const result = outcome as ChunkResult
  return result.e === undefined && result.v.every(isImmutable)
}

function redefined (name: string): ConstantRedefinedError {
  return new ConstantRedefinedError(`shared.setConst: the constant '${name}' is already defined in this pool; a constant can be defined only once`)
}

