// The executor: the side of a peer that holds the user's module. It runs the tasks its host
// hands it, submits the tasks the user's code creates, and keeps the Futures and the replica
// of shared constants that the public API reads. One per thread that runs user code.
// The tasks it submits it runs itself too, newest first, unless its host gave them to a thief
// first (see TaskClaims): a task run here costs no trip to the host thread and back.

import type { MessagePort } from 'node:worker_threads'
import { performance } from 'node:perf_hooks'
import { FunctionRegistry } from './functions.js'
import { BatchedPort, onBatches, type ExecutorToHost, type HostToExecutor, type RuntimeInfo } from './thread-messages.js'
import { decodeValue, encodeValue, serializeError, type SerializedError } from './encoding.js'
import { encode } from '../core/codec.js'
import { ConstantNotFoundError, ConstantRedefinedError, MeshError } from '../errors.js'
import { waitFor, type WaitOptions } from './waiting.js'
import { EXECUTOR_BATCH_MS, EXECUTOR_RESULT_HOLD_MAX_MS, EXECUTOR_RESULT_HOLD_MS, GET_CONST_DEFAULT_TIMEOUT_MS, MAX_SUSPENDED_TASKS } from '../defaults.js'
import type { FunctionRef, PeerId } from '../core/wire.js'
import { Deque } from '../core/deque.js'
import { TaskClaims } from './task-claims.js'

/** How a finished task reaches whoever submitted it. */
export type ResultHandler = (ok: boolean, data: Uint8Array, peer: string, ms: number) => void

interface Submission {
  onResult: ResultHandler
  onStarted?: () => void
  /**
   * Tasks submitted with the same object (a map's chunks) that this executor runs itself run in
   * the order they were submitted, so that the map's results come in input order.
   */
  inOrderWith?: object
}

/**
 * Own tasks submitted with the same `inOrderWith` (or alone), not run yet, in their order. The
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
  private closed = false
  private idleWaiters: Array<() => void> = []
  /**
   * Run time of each function's last tasks (a moving average; until it awaits, for a task that
   * does), ms: decides when results are sent (see EXECUTOR_RESULT_HOLD_MS).
   */
  private readonly runMs = new Map<FunctionRef, number>()
  /** Results of other peers' tasks held in `out`, and when the first of them was posted (performance.now()). */
  private heldResults = 0
  private heldSince = 0
  /** `out.batchesSent` when heldResults was counted: a batch sent since has taken them. */
  private heldInBatch = 0
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
    for (const task of waiting) void this.runTask(task)
  }

  // ---- submitting ---------------------------------------------------------------------------

  submit (fn: FunctionRef, payload: Uint8Array, chunk: number, submission: Submission, retries?: number): number {
    if (this.closed) throw new MeshError('the scoop-node mesh has been shut down')
    const seq = this.nextSeq++
    this.submissions.set(seq, submission)
    const offered = this.runsOwnTasks && this.claims.offer(seq)
    // The host needs an offered task only to give it to a thief: it can wait for the end of the turn.
    this.out.post({ k: 'submit', seq, fn, payload, chunk, ...(retries !== undefined ? { retries } : {}), ...(offered ? { offered } : {}) }, offered ? 'turn' : 'soon')
    if (offered) {
      this.queueOwnTask({ seq, fn, payload, chunk }, submission.inOrderWith)
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
    let group = inOrderWith === undefined ? undefined : this.ownGroupOf.get(inOrderWith)
    if (group === undefined) {
      group = { key: inOrderWith, tasks: new Deque() }
      this.ownGroups.push(group)
      if (inOrderWith !== undefined) this.ownGroupOf.set(inOrderWith, group)
    }
    group.tasks.push(task)
  }

  /** The next own task to run: the oldest of the newest group. */
  private nextOwnTask (): TaskToRun | undefined {
    for (let group = this.ownGroups.at(-1); group !== undefined; group = this.ownGroups.at(-1)) {
      const task = group.tasks.shift()
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
      this.sendHeldResultsBefore(task.fn)
      void this.runTask(task)
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
          this.sendHeldResultsBefore(msg.fn)
          void this.runTask(msg)
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

  private get resultsHeld (): number {
    return this.heldInBatch === this.out.batchesSent ? this.heldResults : 0
  }

  /** A result for another peer is posted: it goes out when this batch of tasks is done (see sendHeldResultsBefore). */
  private holdResult (now: number): void {
    if (this.resultsHeld === 0) {
      this.heldResults = 0
      this.heldInBatch = this.out.batchesSent
      this.heldSince = now
    }
    this.heldResults++
  }

  /**
   * Results of other peers' tasks go out together once the batch of tasks that made them is done
   * (BatchedPort sends them after the code that ran the batch returns), but before a task that
   * may take a while: a task of a function not seen yet, or slower than EXECUTOR_RESULT_HOLD_MS,
   * or when they have been held for EXECUTOR_RESULT_HOLD_MAX_MS already. (An own task's result
   * settles its future here; the host only counts it, so it waits for the batch.)
   */
  private sendHeldResultsBefore (fn: FunctionRef): void {
    if (this.resultsHeld === 0) return
    const expected = this.runMs.get(fn)
    if (expected === undefined || expected > EXECUTOR_RESULT_HOLD_MS || performance.now() - this.heldSince > EXECUTOR_RESULT_HOLD_MAX_MS) this.out.flush()
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

  /** Runs a task: an own one (no owner) settles its future here and the host is told; another's result goes to the host. */
  private async runTask (task: TaskToRun): Promise<void> {
    const own = task.owner === undefined
    this.activeTasks++
    if (own) this.claims.addRunning(1)
    this.updateRef()
    if (own || task.owner === this.info.peerId) this.submissions.get(task.seq)?.onStarted?.()
    const started = performance.now()
    let yielded = false
    /** How long the task ran before it first awaited. */
    let syncMs = 0
    const yieldThread = (): void => {
      if (yielded) return
      yielded = true
      syncMs = performance.now() - started
      if (own) {
        this.claims.addRunning(-1)
        this.ownSuspended++
      } else {
        this.out.post({ k: 'yield', owner: task.owner as PeerId, seq: task.seq })
      }
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
    const ms = performance.now() - started
    const ranMs = yielded ? syncMs : ms
    this.runMs.set(task.fn, 0.5 * (this.runMs.get(task.fn) ?? ranMs) + 0.5 * ranMs)
    // Another peer's result goes when this batch of tasks is done; an own task's, whose future is
    // settled here, at the end of the turn (see sendHeldResultsBefore).
    if (own) {
      if (yielded) this.ownSuspended--
      else this.claims.addRunning(-1)
      const submission = this.submissions.get(task.seq)
      this.submissions.delete(task.seq)
      submission?.onResult(ok, data, this.info.workerName, ms)
      this.out.post({ k: 'ownResult', seq: task.seq, ok, data: ok ? NO_DATA : data, ms }, 'turn')
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
    if (busy) this.port.ref()
    else this.port.unref()
  }
}

function redefined (name: string): ConstantRedefinedError {
  return new ConstantRedefinedError(`shared.setConst: the constant '${name}' is already defined in this pool; a constant can be defined only once`)
}

