// One run as a peer sees it: the run's scheduler, its replica of the run's shared constants,
// the peers taking part in it, and the executor thread that holds the run's module here. A
// long-lived peer keeps one RunSpace per run it serves, so runs share nothing but the mesh.

import type { MessagePort } from 'node:worker_threads'
import { logger } from '@libp2p/logger'
import { Scheduler, type LocalResult, type SchedulerAction } from '../core/scheduler.js'
import { ConstStore } from '../core/constants.js'
import { encode, decode } from '../core/codec.js'
import { isConstEntry, type ConstEntry, type PeerId, type RunSpec, type Task, type TaskEvent, type WireMessage } from '../core/wire.js'
import { BatchedPort, onBatches, type ExecutorToHost, type HostToExecutor, type RuntimeInfo } from './thread-messages.js'
import { TaskClaims } from './task-claims.js'
import { serializeError } from './encoding.js'
import { TaskQuarantinedError, WorkerLostError } from '../errors.js'
import { CONST_FETCH_RETRY_MS } from '../defaults.js'

const log = logger('scoop:run')

/** What a run needs from the peer hosting it (implemented by PeerHost). */
export interface RunHost {
  readonly selfId: PeerId
  /** Sends a message of this run to a peer. */
  send: (peer: PeerId, msg: WireMessage, run: string) => void
  publish: (topic: string, data: Uint8Array) => void
  subscribe: (topic: string) => void
  unsubscribe: (topic: string) => void
  linkedPeers: () => PeerId[]
  brokerId: () => PeerId
  isBroker: () => boolean
  /** The mesh-wide part of the executor's `scoop` info (broker, this peer's name and addresses). */
  meshInfo: () => Omit<RuntimeInfo, 'size'>
  /** A peer's name for messages (its id if unknown). */
  peerName: (peer: PeerId) => string
  /** The executor asked to stop (the origin's script ended). */
  onExecutorShutdown: (run: RunSpace) => void
  /** A task this peer owned finished (dashboards follow them). */
  onTaskDone: (event: TaskEvent) => void
}

/** The executor thread of a run on this peer, as its starter hands it over. */
export interface RunExecutor {
  port: MessagePort
  /** Ends the executor: the run is over on this peer. */
  terminate: () => void
}

type ConstDefinition = { name: string, data: Uint8Array }
type DefineOutcome = { entries: ConstEntry[] } | { duplicate: string } | { error: string }
interface DefineRequest {
  /** The request's id, `<requesting peer>#<request>`: the same when sent again to another broker. */
  by: string
  entries: ConstDefinition[]
  answer: (outcome: DefineOutcome) => void
}

type RunState =
  /** This peer knows the run (e.g. the broker holding its constants) but runs none of its tasks. */
  | 'passive'
  /** The executor is importing the run's module. */
  | 'loading'
  /** Taking part: runJoin sent to every linked peer. */
  | 'joined'
  | 'failed'
  | 'closed'

export class RunSpace {
  readonly scheduler: Scheduler
  readonly consts = new ConstStore()
  /**
   * Peers taking part in this run (their runJoin arrived), this one excluded, with the load they
   * last reported. The scheduler hears of them only once this peer has joined too: a peer still
   * loading the module must not steal, and its steal would be dropped by peers it has not told.
   */
  readonly members = new Map<PeerId, number>()
  private state: RunState = 'passive'
  private executor: BatchedPort<HostToExecutor> | undefined
  private executorHandle: RunExecutor | undefined
  /** When the executor thread was started (Date.now()), for the debug log. */
  private executorStartedAt = 0
  /** This peer's setConst requests with the broker (this peer too), by request id (the executor's), and whom they were sent to. */
  private readonly pendingSetConst = new Map<number, { entries: ConstDefinition[], sentTo: PeerId | undefined, reply: (error: string) => void }>()
  /** setConst requests waiting for this peer to act as broker (see requestDefine). */
  private readonly deferredDefines: DefineRequest[] = []
  /** Constants up to this sequence must be here before this peer, as broker, numbers new ones. */
  private syncUntil = 0
  /** When the last fetch of missing constants was sent: one at a time, re-sent if unanswered. */
  private constFetchSentAt: number | undefined
  private wakeup: NodeJS.Timeout | undefined
  private wakeupAt: number | undefined
  private lastInfo = ''
  private readonly constTopic: string
  /** Set while this peer leaves: called when the run has nothing left here. */
  private onIdle: (() => void) | undefined

  /** `spec` is undefined for a run known only from its constants (the broker may hold those first). */
  constructor (readonly id: string, public spec: RunSpec | undefined, private readonly host: RunHost, private readonly runsTasks = true) {
    this.scheduler = new Scheduler({ self: host.selfId, executorSlots: runsTasks ? undefined : 0 })
    this.constTopic = `/scoop/run/${id}/const/1`
    host.subscribe(this.constTopic)
  }

  get joined (): boolean { return this.state === 'joined' }
  get closed (): boolean { return this.state === 'closed' }
  /** No executor was ever started here for this run (one that failed to load is not tried again). */
  get awaitsExecutor (): boolean { return this.state === 'passive' }

  info (): RuntimeInfo {
    return { ...this.host.meshInfo(), size: this.members.size + 1 }
  }

  /** Connects the run's executor thread; it joins the run when it reports its module loaded. */
  attachExecutor (executor: RunExecutor): void {
    this.executorHandle = executor
    this.executorStartedAt = Date.now()
    this.executor = new BatchedPort(executor.port)
    onBatches<ExecutorToHost>(executor.port, batch => { this.onExecutorBatch(batch) })
    if (this.state === 'passive') this.state = 'loading'
    this.executor.post({ k: 'ownTasks', run: this.runsTasks })
    this.publishInfo(true)
  }

  /** Takes part in the run: every linked peer hears it and may give this peer work. */
  join (): void {
    if (this.state !== 'loading' || this.spec == null) return
    this.state = 'joined'
    log('run %s: module loaded in %d ms; joining %d member(s)', this.id, Date.now() - this.executorStartedAt, this.members.size)
    for (const peer of this.host.linkedPeers()) this.sendJoin(peer)
    const now = Date.now()
    for (const [peer, load] of this.members) this.scheduler.onPeerJoined(peer, load, now)
    this.runActions()
  }

  /** The executor could not load the run's module: this peer stays out of the run. */
  fail (): void {
    if (this.state === 'closed') return
    this.state = 'failed'
    this.executorHandle?.terminate()
    this.executorHandle = undefined
    this.executor = undefined
  }

  /** This peer leaves (see Scheduler.leave); `onIdle` is called once nothing of the run is left here. */
  leave (onIdle: () => void): number {
    this.onIdle = onIdle
    const handedBack = this.scheduler.leave(Date.now())
    this.runActions()
    return handedBack
  }

  /** Nothing of this run runs, waits or is owned here. */
  get idle (): boolean { return this.state !== 'joined' || this.scheduler.idle }

  close (): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    clearTimeout(this.wakeup)
    this.onIdle?.()
    this.host.unsubscribe(this.constTopic)
    this.executorHandle?.terminate()
    this.executorHandle = undefined
    this.executor = undefined
  }

  // ---- membership ---------------------------------------------------------------------------

  /** A newly linked peer: tell it we take part. */
  onPeerLinked (peer: PeerId): void {
    if (this.state === 'joined') this.sendJoin(peer)
  }

  onMemberJoined (peer: PeerId, load: number): void {
    if (this.state === 'closed' || peer === this.host.selfId) return
    const isNew = !this.members.has(peer)
    this.members.set(peer, load)
    if (this.state === 'joined') {
      // Answer a newcomer once, so it knows of this peer even if its own runJoin crossed ours.
      if (isNew) this.sendJoin(peer)
      this.scheduler.onPeerJoined(peer, load, Date.now())
      this.runActions()
    }
    this.publishInfo()
  }

  onPeerLeft (peer: PeerId): void {
    if (!this.members.delete(peer)) return
    this.scheduler.onPeerLeft(peer, Date.now())
    this.runActions()
    this.publishInfo()
  }

  private sendJoin (peer: PeerId): void {
    if (this.spec != null) this.host.send(peer, { t: 'runJoin', spec: this.spec, load: this.scheduler.load }, '')
  }

  // ---- executor -----------------------------------------------------------------------------

  private onExecutorBatch (batch: ExecutorToHost[]): void {
    if (this.state === 'closed') return
    const now = Date.now()
    // Submissions in a row reach the scheduler together: it hands them out once, not one by one;
    // so do the results of own tasks in a row.
    let submitted: Array<{ task: Task, retries?: number, offered?: boolean }> = []
    let localResults: LocalResult[] = []
    const passQueued = (): void => {
      if (submitted.length > 0) this.scheduler.submitAll(submitted, now)
      if (localResults.length > 0) this.scheduler.onLocalResults(localResults, now)
      submitted = []
      localResults = []
    }
    for (const msg of batch) {
      if (msg.k === 'submit') {
        if (localResults.length > 0) passQueued()
        submitted.push({ task: { owner: this.host.selfId, seq: msg.seq, fn: msg.fn, payload: msg.payload, chunk: msg.chunk, constSeq: this.consts.highest }, retries: msg.retries, offered: msg.offered })
        continue
      }
      if (msg.k === 'ownResult') {
        if (submitted.length > 0) passQueued()
        localResults.push(msg)
        continue
      }
      passQueued()
      switch (msg.k) {
        case 'cancel': this.scheduler.cancel(msg.seq, now); break
        case 'yield': this.scheduler.onExecutorYield(msg.owner, msg.seq, now); break
        case 'result': this.scheduler.onExecutorResult(msg.owner, msg.seq, msg.ok, msg.data, msg.ms, now); break
        case 'claims':
          // Installed even where this peer runs no tasks (it tells its executor so: see
          // attachExecutor): a task the executor offered before it heard is then taken by one
          // side only, never run twice.
          this.scheduler.useLocalRuns(new TaskClaims(msg.buffer))
          break
        case 'setConst': this.setConst(msg.req, msg.entries); break
        case 'shutdown': this.host.onExecutorShutdown(this); break
        case 'ready': this.join(); break
      }
    }
    passQueued()
    this.runActions()
  }

  /** A setConst from this peer's executor: defined here if this peer is the broker, else sent to it. */
  private setConst (req: number, entries: ConstDefinition[]): void {
    this.pendingSetConst.set(req, { entries, sentTo: undefined, reply: error => { this.executor?.post({ k: 'setConstReply', req, error }) } })
    this.sendPendingSetConsts()
  }

  /** Sends the setConst requests not yet with the current broker (a broker that left never answers). */
  private sendPendingSetConsts (): void {
    const broker = this.host.brokerId()
    for (const [req, pending] of this.pendingSetConst) {
      if (pending.sentTo === broker) continue
      pending.sentTo = broker
      if (broker !== this.host.selfId) {
        this.host.send(broker, { t: 'setConst', req, entries: pending.entries }, this.id)
        continue
      }
      // This peer is named broker: define here, under the same request id, as a remote one would.
      this.requestDefine({
        by: `${this.host.selfId}#${req}`,
        entries: pending.entries,
        answer: outcome => {
          if ('error' in outcome && outcome.error === 'not-broker') {
            pending.sentTo = undefined // the role went elsewhere before this peer acted: ask the new broker
            return
          }
          this.pendingSetConst.delete(req)
          pending.reply(outcomeError(outcome))
        }
      })
    }
  }

  /**
   * Broker side of a setConst. A request seen before (sent again after a broker change) gets the
   * same answer; one that arrives while this peer is named broker but does not act yet (its
   * claim unacknowledged, or its constants behind another replica) waits for that.
   */
  private requestDefine (request: DefineRequest): void {
    const done = this.consts.definedBy(request.by)
    if (done != null) {
      request.answer({ entries: done })
    } else if (this.canDefine) {
      request.answer(this.defineConsts(request.entries, request.by))
    } else if (this.host.brokerId() === this.host.selfId) {
      this.deferredDefines.push(request)
    } else {
      request.answer({ error: 'not-broker' })
    }
  }

  /** This peer acts as broker and its replica holds every constant any acknowledging peer reported. */
  private get canDefine (): boolean {
    return this.host.isBroker() && this.consts.contiguous === this.consts.highest && this.consts.highest >= this.syncUntil
  }

  private flushDeferredDefines (): void {
    if (this.deferredDefines.length === 0 || !this.canDefine) return
    const waiting = this.deferredDefines.splice(0)
    for (const request of waiting) this.requestDefine(request)
  }

  /**
   * The role went to another peer before this one acted as broker: the requests deferred here
   * are answered 'not-broker', and their peers (this one included) ask the new broker. Kept,
   * they would wait for ever (a newcomer briefly names itself broker until it hears of older peers).
   */
  private refuseDeferredDefines (): void {
    if (this.deferredDefines.length === 0 || this.host.brokerId() === this.host.selfId) return
    for (const request of this.deferredDefines.splice(0)) request.answer({ error: 'not-broker' })
  }

  /**
   * This peer now acts as broker. `highest` is the highest constant sequence an acknowledging
   * peer holds (`from`): numbering must go on after it, so first fetch what is missing here.
   */
  onActingBroker (highest: number, from: PeerId | undefined): void {
    this.syncUntil = highest
    if (this.consts.contiguous < highest && from != null) {
      this.constFetchSentAt = undefined
      this.fetchConsts(from)
    }
    this.flushDeferredDefines()
  }

  /** Broker side: number the constants, store them, spread them on the run's gossip topic. */
  private defineConsts (entries: ConstDefinition[], by: string): DefineOutcome {
    const outcome = this.consts.define(entries, by)
    if ('entries' in outcome) {
      this.host.publish(this.constTopic, encode(outcome.entries))
      this.onConstsAdded(outcome.entries)
    }
    return outcome
  }

  private onConstsAdded (entries: ConstEntry[]): void {
    if (entries.length > 0) this.executor?.post({ k: 'consts', entries: entries.map(e => ({ name: e.name, data: e.data })) })
    this.scheduler.onConstsKnown(this.consts.contiguous, Date.now())
  }

  private addConsts (entries: ConstEntry[]): void {
    this.onConstsAdded(entries.filter(e => this.consts.add(e)))
    this.flushDeferredDefines()
  }

  // ---- mesh ---------------------------------------------------------------------------------

  onMessages (from: PeerId, messages: WireMessage[]): void {
    if (this.state === 'closed') return
    const now = Date.now()
    for (const msg of messages) {
      switch (msg.t) {
        case 'setConst': {
          const req = msg.req
          this.requestDefine({
            by: `${from}#${req}`,
            entries: msg.entries,
            answer: outcome => {
              this.host.send(from, { t: 'setConstReply', req, seqs: 'entries' in outcome ? outcome.entries.map(e => e.seq) : [], error: outcomeError(outcome) }, this.id)
            }
          })
          break
        }
        case 'setConstReply': {
          const pending = this.pendingSetConst.get(msg.req)
          if (pending === undefined || pending.sentTo !== from) break
          if (msg.error === 'not-broker') {
            // It no longer holds the role (or never did in its own view): ask the next broker.
            pending.sentTo = undefined
            break
          }
          this.pendingSetConst.delete(msg.req)
          if (msg.error === '' && msg.seqs.length === pending.entries.length) {
            // The broker numbered our constants: store them now, so our next tasks carry them.
            this.addConsts(pending.entries.map((e, k) => ({ seq: msg.seqs[k], name: e.name, data: e.data })))
          }
          pending.reply(msg.error)
          break
        }
        case 'fetchConsts': this.host.send(from, { t: 'consts', entries: this.consts.after(msg.after) }, this.id); break
        case 'consts':
          this.constFetchSentAt = undefined
          this.addConsts(msg.entries)
          break
        default:
          // Task traffic comes only from members: anyone else has not loaded the run's module.
          if (this.members.has(from)) this.scheduler.onMessage(from, msg, now)
          else log('dropping %s from %s: not a member of run %s', msg.t, from, this.id)
      }
    }
    this.runActions()
  }

  onConstGossip (topic: string, decoded: unknown): boolean {
    if (topic !== this.constTopic) return false
    if (Array.isArray(decoded)) {
      this.addConsts(decoded.filter(isConstEntry))
      this.runActions()
    }
    return true
  }

  onHeartbeat (): void {
    // A fetch of missing constants may have gone unanswered (its peer left): ask the broker again.
    if (this.scheduler.waitsForConsts) this.fetchConsts(this.host.brokerId())
    this.sendPendingSetConsts()
  }

  /**
   * The broker changed (or was first heard from): our constants may lag behind its replica, our
   * requests are with the old one, and the executor's `scoop.brokerName` is out of date.
   */
  onBrokerSeen (broker: PeerId): void {
    this.fetchConsts(broker)
    this.refuseDeferredDefines()
    this.sendPendingSetConsts()
    this.publishInfo()
  }

  private fetchConsts (from: PeerId): void {
    const now = Date.now()
    if (from === this.host.selfId || (this.constFetchSentAt !== undefined && now - this.constFetchSentAt < CONST_FETCH_RETRY_MS)) return
    this.constFetchSentAt = now
    this.host.send(from, { t: 'fetchConsts', after: this.consts.contiguous }, this.id)
  }

  // ---- actions ------------------------------------------------------------------------------

  private runActions (): void {
    for (const action of this.scheduler.takeActions()) this.perform(action)
    if (this.onIdle != null && this.idle) this.onIdle()
    // Re-arm the clock only when the scheduler's next deadline moved (this runs on every event).
    const at = this.scheduler.nextWakeup()
    if (at === this.wakeupAt || this.state === 'closed') return
    clearTimeout(this.wakeup)
    this.wakeupAt = at
    if (at !== undefined) {
      this.wakeup = setTimeout(() => {
        this.wakeupAt = undefined
        this.scheduler.onTick(Date.now())
        this.runActions()
      }, Math.max(0, at - Date.now()))
    }
  }

  private perform (action: SchedulerAction): void {
    switch (action.type) {
      case 'send': this.host.send(action.to, action.msg, this.id); break
      case 'execute': {
        const { owner, seq, fn, payload, chunk } = action.task
        this.executor?.post({ k: 'run', owner, seq, fn, payload, chunk })
        break
      }
      case 'resolve': {
        const peer = this.host.peerName(action.peer)
        if (!action.settled) this.executor?.post({ k: 'resolve', seq: action.seq, ok: action.ok, data: action.data, peer, ms: action.ms })
        this.host.onTaskDone({ run: this.id, fn: action.fn, peer, at: Date.now(), ms: action.ms, items: action.items, ok: action.ok, ...(action.ok ? {} : { error: errorSummary(action.data) }) })
        break
      }
      case 'started': this.executor?.post({ k: 'started', seq: action.seq }); break
      case 'lost': {
        const name = this.host.peerName(action.peer)
        this.rejectOwned(action.seq, name, new WorkerLostError(`the worker ${name} was lost while it held this task, which may or may not have run there; it is not run again ({ retries: ${action.retries} })`))
        break
      }
      case 'quarantined': {
        const name = this.host.peerName(action.lastPeer)
        this.rejectOwned(action.seq, name, new TaskQuarantinedError(`the task was quarantined: ${action.losses} workers died while holding it (the last one: ${name}); it is not run again`))
        break
      }
      case 'fetchConsts': this.fetchConsts(this.host.brokerId()); break
    }
  }

  /** Fails an owned task for a reason of the mesh's (not the task's own error), naming the worker concerned. */
  private rejectOwned (seq: number, worker: string, error: Error): void {
    this.executor?.post({ k: 'resolve', seq, ok: false, data: encode(serializeError(error, worker)), peer: worker, ms: 0 })
  }

  publishInfo (force = false): void {
    if (this.executor == null) return
    const info = this.info()
    const key = JSON.stringify(info)
    if (!force && key === this.lastInfo) return
    this.lastInfo = key
    this.executor.post({ k: 'info', info })
  }
}

/** A define's outcome as setConstReply carries it: '' (defined), `redefined:<name>`, or another error. */
function outcomeError (outcome: DefineOutcome): string {
  return 'duplicate' in outcome ? `redefined:${outcome.duplicate}` : ('error' in outcome ? outcome.error : '')
}

/** A failed task's error as the dashboard shows it: name, message, remote stack. */
function errorSummary (data: Uint8Array): TaskEvent['error'] {
  try {
    const e = decode(data) as { name?: unknown, message?: unknown, stack?: unknown }
    return { name: String(e?.name ?? 'Error'), message: String(e?.message ?? ''), stack: String(e?.stack ?? '') }
  } catch {
    return { name: 'Error', message: 'an undecodable error', stack: '' }
  }
}
