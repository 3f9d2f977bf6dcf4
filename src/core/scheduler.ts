// The work-stealing scheduler of one peer, sans-IO: it takes events (a local submit, a message
// from a peer, the executor finishing a task, a peer leaving, the clock) and queues actions
// (send a message, run a task on the local executor, resolve an owned task) that its driver
// drains with `takeActions()`. No sockets, no timers, no clock: the driver passes `now`.

import { Deque } from './deque.js'
import type { PeerId, Task, WireMessage } from './wire.js'
import { EXECUTOR_SLOTS, MAX_SUSPENDED_TASKS, MAX_TASK_LOSSES, STARTED_NOTICE_DELAY_MS, STEAL_BACKOFF_MAX_MS, STEAL_BACKOFF_MIN_MS } from '../defaults.js'

export type SchedulerAction =
  | { type: 'send', to: PeerId, msg: WireMessage }
  /** Hand this task to the local executor. */
  | { type: 'execute', task: Task }
  /** An owned task finished (here or elsewhere): deliver to its future. */
  | { type: 'resolve', seq: number, ok: boolean, data: Uint8Array, peer: PeerId, ms: number }
  /** An owned task started running on another peer. */
  | { type: 'started', seq: number }
  /** An owned task was lost with MAX_TASK_LOSSES peers: it is quarantined, not run again. */
  | { type: 'quarantined', seq: number, lastPeer: PeerId, losses: number }
  /** Tasks wait for shared constants this peer has not received yet: fetch those after `after`. */
  | { type: 'fetchConsts', after: number }

export interface SchedulerInit {
  self: PeerId
  /** Uniform random numbers in [0, 1); injectable so simulations and tests are deterministic. */
  random?: () => number
  /** Tasks the executor holds at once (see EXECUTOR_SLOTS); 0: this peer never runs tasks, it only submits. */
  executorSlots?: number
}

interface OwnedTask {
  task: Task
  /** Peer holding the task, or null while it is in this peer's deque or executor. */
  location: PeerId | null
  started: boolean
  /** Peers lost while they held this task. */
  losses: number
}

interface PeerState {
  /** Tasks the peer last said it has queued. */
  load: number
  /** Do not ask this peer for work before this time (after it answered empty-handed). */
  retryAt: number
  backoffMs: number
}

const keyOf = (owner: PeerId, seq: number): string => `${owner}#${seq}`

export class Scheduler {
  readonly self: PeerId
  private readonly random: () => number
  private readonly executorSlots: number
  private readonly deque = new Deque<Task>()
  /** Tasks whose constants have not all arrived yet. */
  private readonly waitingForConsts: Task[] = []
  private readonly owned = new Map<number, OwnedTask>()
  /** Tasks given to the local executor, by key; `suspended` ones have yielded the thread. */
  private readonly executing = new Map<string, Task>()
  private readonly suspended = new Set<string>()
  private readonly peers = new Map<PeerId, PeerState>()
  /** Stolen tasks running here whose owner has not yet been told they started (see STARTED_NOTICE_DELAY_MS). */
  private readonly startNotices = new Map<string, { owner: PeerId, seq: number, due: number }>()
  private actions: SchedulerAction[] = []
  private stealTarget: PeerId | null = null
  /** The peer holding this peer's waiting steal request, if any. */
  private parkedAt: PeerId | null = null
  /** Thieves waiting here for work (their requests came with `wait`). */
  private readonly parkedThieves = new Set<PeerId>()
  private lastAdvertisedLoad = 0
  private knownConstSeq = 0
  private now = 0

  /** Counters for status and benchmarks. */
  readonly stats = { executed: 0, stolen: 0, given: 0, stealRequests: 0, emptySteals: 0, requeued: 0 }

  constructor (init: SchedulerInit) {
    this.self = init.self
    this.random = init.random ?? Math.random
    this.executorSlots = init.executorSlots ?? EXECUTOR_SLOTS
  }

  /** True while some task waits for shared constants not received yet. */
  get waitsForConsts (): boolean { return this.waitingForConsts.length > 0 }

  /** Tasks queued here and not yet started: what this peer advertises as its load. */
  get load (): number { return this.deque.length }

  takeActions (): SchedulerAction[] {
    const out = this.actions
    this.actions = []
    return out
  }

  /** Earliest time at which `onTick` has something to do, if any. */
  nextWakeup (): number | undefined {
    let earliest: number | undefined
    const consider = (t: number): void => { if (earliest === undefined || t < earliest) earliest = t }
    for (const notice of this.startNotices.values()) consider(notice.due)
    if (this.wantsWork() && this.stealTarget == null) {
      for (const p of this.peers.values()) if (p.load > 0 && p.retryAt > this.now) consider(p.retryAt)
    }
    return earliest
  }

  onTick (now: number): void {
    this.now = now
    this.pump()
  }

  // ---- local events -------------------------------------------------------------------------

  /** A task submitted on this peer (seq from allocateSeq). */
  submit (task: Task, now: number): void {
    this.now = now
    this.owned.set(task.seq, { task, location: null, started: false, losses: 0 })
    this.deque.push(task)
    this.pump()
  }

  /**
   * Cancels an owned task that has not started. Returns false if it already started or finished.
   * A task already given to another peer is cancelled there; if it started meanwhile, its
   * result is dropped on arrival.
   */
  cancel (seq: number, now: number): boolean {
    this.now = now
    const entry = this.owned.get(seq)
    if (entry == null || entry.started) return false
    this.owned.delete(seq)
    if (entry.location == null) {
      this.deque.removeWhere(t => t.owner === this.self && t.seq === seq)
    } else {
      this.send(entry.location, { t: 'cancel', seq })
    }
    this.pump()
    return true
  }

  /** The executor's thread is free again while this task awaits something. */
  onExecutorYield (owner: PeerId, seq: number, now: number): void {
    this.now = now
    const key = keyOf(owner, seq)
    if (this.executing.has(key)) this.suspended.add(key)
    this.pump()
  }

  onExecutorResult (owner: PeerId, seq: number, ok: boolean, data: Uint8Array, ms: number, now: number): void {
    this.now = now
    const key = keyOf(owner, seq)
    if (!this.executing.delete(key)) return
    this.suspended.delete(key)
    this.startNotices.delete(key) // the result says it all
    this.stats.executed++
    if (owner === this.self) {
      this.resolveOwned(seq, ok, data, this.self, ms)
    } else if (this.peers.has(owner)) {
      this.send(owner, { t: 'result', seq, ok, data, ms })
    }
    this.pump()
  }

  /** All shared constants up to `seq` are now known locally. */
  onConstsKnown (seq: number, now: number): void {
    this.now = now
    if (seq <= this.knownConstSeq) return
    this.knownConstSeq = seq
    for (let i = this.waitingForConsts.length - 1; i >= 0; i--) {
      const task = this.waitingForConsts[i]
      if (task.constSeq <= seq) {
        this.waitingForConsts.splice(i, 1)
        this.deque.push(task)
      }
    }
    this.pump()
  }

  // ---- peers --------------------------------------------------------------------------------

  onPeerJoined (peer: PeerId, load: number, now: number): void {
    this.now = now
    const state = this.peers.get(peer)
    if (state != null) state.load = load
    else this.peers.set(peer, { load, retryAt: 0, backoffMs: STEAL_BACKOFF_MIN_MS })
    this.pump()
  }

  /** A peer is gone: its tasks come back to their owners' queues, pending exchanges are dropped. */
  onPeerLeft (peer: PeerId, now: number): void {
    this.now = now
    if (!this.peers.delete(peer)) return
    if (this.stealTarget === peer) this.stealTarget = null
    if (this.parkedAt === peer) this.parkedAt = null
    this.parkedThieves.delete(peer)
    for (const [seq, entry] of this.owned) {
      if (entry.location !== peer) continue
      entry.losses++
      if (entry.losses >= MAX_TASK_LOSSES) {
        // Most likely the task itself kills its workers: stop feeding it more of them.
        this.owned.delete(seq)
        this.actions.push({ type: 'quarantined', seq, lastPeer: peer, losses: entry.losses })
        continue
      }
      entry.location = null
      entry.started = false
      this.deque.push(entry.task)
      this.stats.requeued++
    }
    for (const [key, notice] of this.startNotices) if (notice.owner === peer) this.startNotices.delete(key)
    // Work owned by the lost peer can no longer be delivered anywhere.
    this.deque.removeWhere(t => t.owner === peer)
    for (let i = this.waitingForConsts.length - 1; i >= 0; i--) {
      if (this.waitingForConsts[i].owner === peer) this.waitingForConsts.splice(i, 1)
    }
    this.pump()
  }

  onMessage (from: PeerId, msg: WireMessage, now: number): void {
    this.now = now
    switch (msg.t) {
      case 'load': this.onLoad(from, msg.n); break
      case 'steal': this.onStealRequest(from, msg.wait === true); break
      case 'tasks': this.onStolenTasks(from, msg.tasks, msg.load); break
      case 'started': this.onStarted(from, msg.seqs); break
      case 'result': this.onResult(from, msg.seq, msg.ok, msg.data, msg.ms); break
      case 'cancel': this.onCancelRequest(from, msg.seq); break
      case 'moved': this.onMoved(msg.seqs, msg.to); break
      default: return
    }
    this.pump()
  }

  private onLoad (from: PeerId, n: number): void {
    const state = this.peers.get(from)
    if (state == null) return
    if (n > state.load) { state.retryAt = 0; state.backoffMs = STEAL_BACKOFF_MIN_MS }
    state.load = n
  }

  private onStealRequest (thief: PeerId, wait: boolean): void {
    if (!this.peers.has(thief)) return
    this.stats.stealRequests++
    if (this.stealableCount() === 0 && wait) {
      this.parkedThieves.add(thief)
      return
    }
    this.giveTo(thief)
  }

  /** Steal half; a single task goes only if this peer's executor cannot take it now. */
  private stealableCount (): number {
    const queued = this.deque.length
    const executorFull = this.executorSlots === 0 || this.executing.size - this.suspended.size > 0
    return queued >= 2 ? Math.floor(queued / 2) : (queued === 1 && executorFull ? 1 : 0)
  }

  /** Sends a thief the oldest stealable tasks (possibly none), telling their owners where they went. */
  private giveTo (thief: PeerId): void {
    const count = this.stealableCount()
    const tasks: Task[] = []
    for (let k = 0; k < count; k++) tasks.push(this.deque.shift() as Task)
    const movedByOwner = new Map<PeerId, number[]>()
    for (const task of tasks) {
      if (task.owner === this.self) {
        const entry = this.owned.get(task.seq)
        if (entry != null) entry.location = thief
      } else if (task.owner !== thief) {
        const list = movedByOwner.get(task.owner) ?? []
        list.push(task.seq)
        movedByOwner.set(task.owner, list)
      }
    }
    for (const [owner, seqs] of movedByOwner) this.send(owner, { t: 'moved', seqs, to: thief })
    if (tasks.length > 0) this.stats.given += tasks.length
    this.lastAdvertisedLoad = this.deque.length
    this.send(thief, { t: 'tasks', tasks, load: this.deque.length })
  }

  private onStolenTasks (victim: PeerId, tasks: Task[], load: number): void {
    if (this.stealTarget === victim) this.stealTarget = null
    if (this.parkedAt === victim && tasks.length > 0) this.parkedAt = null
    const state = this.peers.get(victim)
    if (state != null) {
      state.load = load
      if (tasks.length === 0) {
        this.stats.emptySteals++
        state.retryAt = this.now + state.backoffMs
        state.backoffMs = Math.min(state.backoffMs * 2, STEAL_BACKOFF_MAX_MS)
      } else {
        state.retryAt = 0
        state.backoffMs = STEAL_BACKOFF_MIN_MS
      }
    }
    for (const task of tasks) {
      if (task.owner === this.self) {
        const entry = this.owned.get(task.seq)
        if (entry == null) continue // cancelled meanwhile
        entry.location = null
      } else if (!this.peers.has(task.owner)) {
        continue // its owner is gone
      }
      this.stats.stolen++
      this.deque.push(task)
    }
  }

  private onStarted (from: PeerId, seqs: number[]): void {
    for (const seq of seqs) {
      const entry = this.owned.get(seq)
      if (entry == null || entry.started) continue
      entry.started = true
      entry.location = from
      this.actions.push({ type: 'started', seq })
    }
  }

  private onResult (from: PeerId, seq: number, ok: boolean, data: Uint8Array, ms: number): void {
    this.resolveOwned(seq, ok, data, from, ms)
  }

  private onCancelRequest (owner: PeerId, seq: number): void {
    this.deque.removeWhere(t => t.owner === owner && t.seq === seq)
    const i = this.waitingForConsts.findIndex(t => t.owner === owner && t.seq === seq)
    if (i >= 0) this.waitingForConsts.splice(i, 1)
  }

  private onMoved (seqs: number[], to: PeerId): void {
    for (const seq of seqs) {
      const entry = this.owned.get(seq)
      if (entry == null || entry.started) continue
      entry.location = to === this.self ? null : to
    }
  }

  private resolveOwned (seq: number, ok: boolean, data: Uint8Array, peer: PeerId, ms: number): void {
    // First result wins; a duplicate (re-executed task) or a cancelled task's result is dropped.
    if (!this.owned.delete(seq)) return
    this.actions.push({ type: 'resolve', seq, ok, data, peer, ms })
  }

  // ---- the pump: feed the executor, then look for work elsewhere -------------------------------

  private wantsWork (): boolean {
    return this.executorSlots > 0 && this.deque.length === 0 && this.executing.size - this.suspended.size === 0 &&
      this.suspended.size < MAX_SUSPENDED_TASKS
  }

  /**
   * The executor takes a task when it is idle; it takes a second one ahead (prefetch, hiding the
   * round trip between tasks) only if more work stays queued: a prefetched task cannot be stolen.
   */
  private executorHasRoom (): boolean {
    if (this.suspended.size >= MAX_SUSPENDED_TASKS) return false
    const active = this.executing.size - this.suspended.size
    if (this.executorSlots === 0) return false
    return active === 0 || (active < this.executorSlots && this.deque.length > 1)
  }

  private pump (): void {
    while (this.executorHasRoom()) {
      const task = this.deque.pop()
      if (task === undefined) break
      if (task.owner === this.self && !this.owned.has(task.seq)) continue // cancelled
      if (task.constSeq > this.knownConstSeq) {
        this.waitingForConsts.push(task)
        this.actions.push({ type: 'fetchConsts', after: this.knownConstSeq })
        continue
      }
      const key = keyOf(task.owner, task.seq)
      this.executing.set(key, task)
      if (task.owner !== this.self) {
        this.startNotices.set(key, { owner: task.owner, seq: task.seq, due: this.now + STARTED_NOTICE_DELAY_MS })
      } else {
        const entry = this.owned.get(task.seq)
        if (entry != null) entry.started = true
      }
      this.actions.push({ type: 'execute', task })
    }
    this.sendStartNotices()
    for (const thief of this.parkedThieves) {
      if (this.stealableCount() === 0) break
      this.parkedThieves.delete(thief)
      this.giveTo(thief)
    }
    this.advertiseLoad()
    this.trySteal()
  }

  /** Tells owners which of their tasks have been running here for a while (short ones report only their result). */
  private sendStartNotices (): void {
    const byOwner = new Map<PeerId, number[]>()
    for (const [key, notice] of this.startNotices) {
      if (notice.due > this.now) continue
      this.startNotices.delete(key)
      const list = byOwner.get(notice.owner) ?? []
      list.push(notice.seq)
      byOwner.set(notice.owner, list)
    }
    for (const [owner, seqs] of byOwner) this.send(owner, { t: 'started', owner, seqs })
  }

  /** Tells every peer when this peer's queue turns empty or non-empty: idle peers steal on that news. */
  private advertiseLoad (): void {
    const load = this.deque.length
    if ((load === 0) === (this.lastAdvertisedLoad === 0)) return
    this.lastAdvertisedLoad = load
    for (const peer of this.peers.keys()) this.send(peer, { t: 'load', n: load })
  }

  private trySteal (): void {
    if (!this.wantsWork() || this.stealTarget != null) return
    const candidates: PeerId[] = []
    for (const [id, p] of this.peers) if (p.load > 0 && p.retryAt <= this.now) candidates.push(id)
    if (candidates.length === 0) {
      // Nobody advertises work: leave one waiting request with a random peer, answered as soon
      // as it has work (saves the load-notice round trip); no polling.
      if (this.parkedAt == null && this.peers.size > 0) {
        const ids = [...this.peers.keys()]
        this.parkedAt = ids[Math.floor(this.random() * ids.length)]
        this.send(this.parkedAt, { t: 'steal', wait: true })
      }
      return
    }
    const victim = candidates[Math.floor(this.random() * candidates.length)]
    this.stealTarget = victim
    this.send(victim, { t: 'steal' })
  }

  private send (to: PeerId, msg: WireMessage): void {
    this.actions.push({ type: 'send', to, msg })
  }
}
