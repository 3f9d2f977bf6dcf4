// The work-stealing scheduler of one peer, sans-IO: it takes events (a local submit, a message
// from a peer, the executor finishing a task, a peer leaving, the clock) and queues actions
// (send a message, run a task on the local executor, resolve an owned task) that its driver
// drains with `takeActions()`. No sockets, no timers, no clock: the driver passes `now`.

import { Deque } from './deque.js'
import { RandomSet } from './random-set.js'
import { taskWireBytes, type FunctionRef, type PeerId, type Task, type WireMessage } from './wire.js'
import {
  EXECUTOR_BATCH_MS, EXECUTOR_MAX_BATCH, EXECUTOR_SLOTS, LOAD_ADVERT_FANOUT, MAX_SUSPENDED_TASKS, MAX_TASK_LOSSES, DEPARTED_PEERS_KEPT, STARTED_NOTICE_DELAY_MS,
  STEAL_MAX_BYTES,
  STEAL_BACKOFF_MAX_MS, STEAL_BACKOFF_MIN_MS, STEAL_PROBES_BEFORE_BACKOFF
} from '../defaults.js'

export type SchedulerAction =
  | { type: 'send', to: PeerId, msg: WireMessage }
  /** Hand this task to the local executor. */
  | { type: 'execute', task: Task }
  /**
   * An owned task finished (here or elsewhere): deliver to its future; `settled`: the executor
   * ran it itself and has settled its future already (see LocalRuns), only report it.
   */
  | { type: 'resolve', seq: number, ok: boolean, data: Uint8Array, peer: PeerId, ms: number, fn: FunctionRef, items: number, settled: boolean }
  /** An owned task started running on another peer. */
  | { type: 'started', seq: number }
  /** An owned task was lost with a peer more often than its `retries` allow: it is not run again. */
  | { type: 'lost', seq: number, peer: PeerId, retries: number }
  /** An owned task was lost with MAX_TASK_LOSSES peers: it is quarantined, not run again. */
  | { type: 'quarantined', seq: number, lastPeer: PeerId, losses: number }
  /** Tasks wait for shared constants this peer has not received yet: fetch those after `after`. */
  | { type: 'fetchConsts', after: number }

export interface SchedulerInit {
  self: PeerId
  /** Uniform random numbers in [0, 1); injectable so simulations and tests are deterministic. */
  random?: () => number
  /**
   * Tasks the executor holds at once, fixed; 0: this peer never runs tasks, it only submits.
   * Unset: EXECUTOR_SLOTS, more for short tasks (see EXECUTOR_BATCH_MS).
   */
  executorSlots?: number
}

/** An offered task the executor ran itself (see Scheduler.onLocalResults). */
export interface LocalResult { seq: number, ok: boolean, data: Uint8Array, ms: number }

/**
 * The executor's runs of its own tasks. An executor may run a task it submitted at once, on its
 * own thread, without the round trips through this scheduler: such a task is *offered* (see
 * `submitAll`), and whichever side takes it first runs it, the executor or this scheduler (which
 * gives it to a thief). The runtime implements it in shared memory (TaskClaims).
 */
export interface LocalRuns {
  /** Takes an offered task for this scheduler to hand out; false if the executor took it first. */
  take: (seq: number) => boolean
  /** True once an offered task has been taken, by either side. */
  taken: (seq: number) => boolean
  /** Own tasks the executor is running now (their synchronous part): it is busy with them. */
  readonly running: number
}

interface OwnedTask {
  task: Task
  /** Offered to the executor (see LocalRuns) and not handed out by this scheduler since. */
  offered: boolean
  /** Peer holding the task, or null while it is in this peer's deque or executor. */
  location: PeerId | null
  /** The highest hop count (Task.hops) heard of: older 'moved' notices are out of date. */
  hops: number
  /**
   * The peer that gave the task to `location`, until `location` says it has it: should the giver
   * die first, the task may have died with it, in its send buffer or on the wire.
   */
  via: PeerId | undefined
  started: boolean
  /** Peers lost while they held this task. */
  losses: number
  /** Losses it may be run again after (see RetryOptions); undefined: up to the quarantine. */
  retries: number | undefined
}

const keyOf = (owner: PeerId, seq: number): string => `${owner}#${seq}`

export class Scheduler {
  readonly self: PeerId
  private readonly random: () => number
  /** A fixed executor depth (see SchedulerInit.executorSlots), or undefined: it follows the tasks' run time. */
  private readonly fixedSlots: number | undefined
  /** Run time of the last tasks that ran through without yielding (a moving average), ms. */
  private taskMs: number | undefined
  private readonly deque = new Deque<Task>()
  /** Own tasks offered to the executor (see LocalRuns), in submission order; taken ones are dropped lazily. */
  private readonly offered = new Deque<Task>()
  private localRuns: LocalRuns | undefined
  /** Tasks whose constants have not all arrived yet. */
  private readonly waitingForConsts: Task[] = []
  private readonly owned = new Map<number, OwnedTask>()
  /** Tasks given to the local executor, by key; `suspended` ones have yielded the thread. */
  private readonly executing = new Map<string, Task>()
  private readonly suspended = new Set<string>()
  /** Linked peers (a RandomSet: random picks in O(1)). */
  private readonly peerIds = new RandomSet<PeerId>()
  /** Peers that left, the latest DEPARTED_PEERS_KEPT: a 'moved' notice naming one comes after its loss. */
  private readonly departed = new Set<PeerId>()
  /** Peers last heard (hello, advert, steal answer) to have queued work: an idle peer steals from a random one of them. */
  private readonly loadedPeers = new RandomSet<PeerId>()
  /** Stolen tasks running here whose owner has not yet been told they started (see STARTED_NOTICE_DELAY_MS). */
  private readonly startNotices = new Map<string, { owner: PeerId, seq: number, due: number }>()
  private actions: SchedulerAction[] = []
  private stealTarget: PeerId | null = null
  /** The request to stealTarget was sent ahead (see WireMessage 'steal'). */
  private stealingAhead = false
  /** A steal ahead came back empty: ask again only once the executor runs dry (or work arrives). */
  private aheadRefused = false
  /** The peer holding this peer's waiting steal request, if any. */
  private parkedAt: PeerId | null = null
  /** Thieves waiting here for work (their requests came with `wait`). */
  private readonly parkedThieves = new Set<PeerId>()
  private lastAdvertisedLoad = 0
  /** Peers told that this peer's queue turned non-empty: they are told when it is empty again. */
  private advertisedTo: PeerId[] = []
  /** Steal requests answered empty-handed in a row: enough of them hold back probes of random peers (see STEAL_PROBES_BEFORE_BACKOFF). */
  private emptyAnswers = 0
  private probeBackoffMs = STEAL_BACKOFF_MIN_MS
  /** No steal request to a random peer before this time. */
  private probeAt = 0
  private knownConstSeq = 0
  private now = 0
  /** This peer is leaving (see leave()): it takes no more work from others. */
  private leaving = false

  /** Counters for status and benchmarks. */
  readonly stats = { executed: 0, executedItems: 0, stolen: 0, given: 0, stealRequests: 0, emptySteals: 0, requeued: 0 }

  constructor (init: SchedulerInit) {
    this.self = init.self
    this.random = init.random ?? Math.random
    this.fixedSlots = init.executorSlots
  }

  /** Tasks the executor may hold whose synchronous part has not finished (see EXECUTOR_BATCH_MS). */
  private get executorSlots (): number {
    if (this.fixedSlots !== undefined) return this.fixedSlots
    if (this.taskMs === undefined) return EXECUTOR_SLOTS
    return Math.max(EXECUTOR_SLOTS, Math.min(EXECUTOR_MAX_BATCH, Math.floor(EXECUTOR_BATCH_MS / Math.max(this.taskMs, 1e-3))))
  }

  /** True while some task waits for shared constants not received yet. */
  get waitsForConsts (): boolean { return this.waitingForConsts.length > 0 }

  /** Tasks queued here and not yet started: what this peer advertises as its load. */
  get load (): number {
    this.pruneOffered()
    return this.deque.length + this.offered.length
  }

  /** The executor runs its own tasks itself from now on, when it takes them first (see LocalRuns). */
  useLocalRuns (runs: LocalRuns): void {
    this.localRuns = runs
  }

  /** Tasks the executor holds (running, or waiting for their children). */
  get running (): number { return this.executing.size }

  /** Nothing runs, waits or is owned here: a leaving peer may go without losing anything. */
  get idle (): boolean {
    return this.executing.size === 0 && this.owned.size === 0 && this.load === 0 && this.waitingForConsts.length === 0
  }

  /**
   * This peer is leaving (SIGTERM): it steals no more, hands the queued tasks of other owners
   * back to them (they queue them again at once, no loss counted), and finishes what it runs.
   * Its own tasks stay: thieves may still take them, and it runs them itself too.
   * Returns how many tasks went back.
   */
  leave (now: number): number {
    this.now = now
    this.leaving = true
    const others = (task: Task): boolean => task.owner !== this.self
    const handedBack = this.deque.removeWhere(others)
    for (let i = this.waitingForConsts.length - 1; i >= 0; i--) {
      if (others(this.waitingForConsts[i])) handedBack.push(...this.waitingForConsts.splice(i, 1))
    }
    this.handBack(handedBack)
    this.pump()
    return handedBack.length
  }

  private handBack (tasks: Task[]): void {
    for (const [owner, seqs] of seqsByOwner(tasks)) this.send(owner, { t: 'returned', seqs })
  }

  takeActions (): SchedulerAction[] {
    const out = this.actions
    this.actions = []
    return out
  }

  /** Earliest time at which `onTick` has something to do, if any. */
  nextWakeup (): number | undefined {
    let earliest: number | undefined
    const consider = (t: number): void => { if (earliest === undefined || t < earliest) earliest = t }
    // The first notice is due first (see sendStartNotices).
    const firstNotice = this.startNotices.values().next()
    if (firstNotice.done !== true) consider(firstNotice.value.due)
    if (this.wantsWork() && this.activeTasks === 0 && this.stealTarget == null && this.loadedPeers.size === 0 && this.probesRandomPeers && this.probeAt > this.now) {
      consider(this.probeAt)
    }
    return earliest
  }

  onTick (now: number): void {
    this.now = now
    this.pump()
  }

  // ---- local events -------------------------------------------------------------------------

  /** A task submitted on this peer (its seq numbered by the submitter, unique per owner). */
  submit (task: Task, now: number, retries?: number): void {
    this.submitAll([{ task, retries }], now)
  }

  /**
   * Tasks submitted together: queued first, then handed out at once (a thief gets half of them
   * all). `offered`: the executor may run it itself (see LocalRuns).
   */
  submitAll (submissions: Array<{ task: Task, retries?: number, offered?: boolean }>, now: number): void {
    this.now = now
    for (const { task, retries, offered } of submissions) {
      const local = offered === true && this.localRuns !== undefined
      this.owned.set(task.seq, { task, offered: local, location: null, hops: 0, via: undefined, started: false, losses: 0, retries })
      if (local) this.offered.push(task)
      else this.deque.push(task)
    }
    this.pump()
  }

  /**
   * The executor ran offered tasks itself and settled their futures: count and report them. All
   * of a batch at once, with one pump: a pump per result made a flood's host fall tens of ms
   * behind, and steal requests waited in its socket meanwhile.
   */
  onLocalResults (results: LocalResult[], now: number): void {
    this.now = now
    for (const { seq, ok, data, ms } of results) {
      const entry = this.owned.get(seq)
      if (entry === undefined || !entry.offered) continue
      this.stats.executed++
      this.stats.executedItems += Math.max(1, entry.task.chunk)
      this.resolveOwned(seq, ok, data, this.self, ms, true)
    }
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
    if (entry.location != null) {
      this.send(entry.location, { t: 'cancel', seq })
    } else if (!entry.offered) {
      // (An offered task is cancelled by the executor, which took it first: `offered` drops it lazily.)
      this.deque.removeWhere(t => t.owner === this.self && t.seq === seq)
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
    const task = this.executing.get(key)
    if (task === undefined) return
    this.executing.delete(key)
    // A task that yielded waited for others: its time says nothing of how long tasks run.
    if (!this.suspended.delete(key)) this.taskMs = this.taskMs === undefined ? ms : 0.75 * this.taskMs + 0.25 * ms
    this.aheadRefused = false
    this.startNotices.delete(key) // the result says it all
    this.stats.executed++
    this.stats.executedItems += Math.max(1, task.chunk)
    if (owner === this.self) {
      this.resolveOwned(seq, ok, data, this.self, ms, false)
    } else if (this.peerIds.has(owner)) {
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
    this.peerIds.add(peer)
    this.departed.delete(peer)
    this.setPeerLoad(peer, load)
    this.pump()
  }

  /** A peer is gone: its tasks come back to their owners' queues, pending exchanges are dropped. */
  onPeerLeft (peer: PeerId, now: number): void {
    this.now = now
    if (!this.peerIds.delete(peer)) return
    this.departed.add(peer)
    if (this.departed.size > DEPARTED_PEERS_KEPT) this.departed.delete(this.departed.values().next().value as PeerId)
    this.loadedPeers.delete(peer)
    if (this.stealTarget === peer) this.stealTarget = null
    if (this.parkedAt === peer) this.parkedAt = null
    this.parkedThieves.delete(peer)
    for (const [seq, entry] of this.owned) if (entry.location === peer || entry.via === peer) this.lostWith(seq, entry, peer)
    for (const [key, notice] of this.startNotices) if (notice.owner === peer) this.startNotices.delete(key)
    // Work owned by the lost peer can no longer be delivered anywhere.
    this.deque.removeWhere(t => t.owner === peer)
    for (let i = this.waitingForConsts.length - 1; i >= 0; i--) {
      if (this.waitingForConsts[i].owner === peer) this.waitingForConsts.splice(i, 1)
    }
    this.pump()
  }

  /** An own task was at `peer`, which is gone: queued again, or reported (retries spent, or quarantined). */
  private lostWith (seq: number, entry: OwnedTask, peer: PeerId): void {
    entry.losses++
    if (entry.retries !== undefined && entry.losses > entry.retries) {
      // Not to be run again (it may have run there already): its owner is told.
      this.owned.delete(seq)
      this.actions.push({ type: 'lost', seq, peer, retries: entry.retries })
      return
    }
    if (entry.losses >= MAX_TASK_LOSSES) {
      // Most likely the task itself kills its workers: stop feeding it more of them.
      this.owned.delete(seq)
      this.actions.push({ type: 'quarantined', seq, lastPeer: peer, losses: entry.losses })
      return
    }
    entry.location = null
    entry.via = undefined
    entry.started = false
    this.deque.push(entry.task)
    this.stats.requeued++
  }

  onMessage (from: PeerId, msg: WireMessage, now: number): void {
    this.now = now
    switch (msg.t) {
      case 'load': this.onLoad(from, msg.n); break
      case 'steal': this.onStealRequest(from, msg.wait === true, msg.ahead === true); break
      case 'tasks': if (msg.back === true) this.onTasksHandedBack(from, msg.tasks); else this.onStolenTasks(from, msg.tasks, msg.load); break
      case 'started': this.onStarted(from, msg.seqs); break
      case 'result': this.onResult(from, msg.seq, msg.ok, msg.data, msg.ms); break
      case 'cancel': this.onCancelRequest(from, msg.seq); break
      case 'moved': this.onMoved(from, msg.seqs, msg.to, msg.hops); break
      case 'returned': this.onReturned(from, msg.seqs); break
      default: return
    }
    this.pump()
  }

  private onLoad (from: PeerId, n: number): void {
    if (!this.peerIds.has(from)) return
    this.setPeerLoad(from, n)
    // A thief that has work of its own now withdraws its waiting request (see advertiseLoad).
    if (n > 0) this.parkedThieves.delete(from)
  }

  private setPeerLoad (peer: PeerId, load: number): void {
    if (load > 0) this.loadedPeers.add(peer)
    else this.loadedPeers.delete(peer)
  }

  private onStealRequest (thief: PeerId, wait: boolean, ahead: boolean): void {
    if (!this.peerIds.has(thief)) return
    this.stats.stealRequests++
    // A peer asking for work has none queued: no use stealing from it.
    this.setPeerLoad(thief, 0)
    if (this.stealableCount() === 0 && wait) {
      this.parkedThieves.add(thief)
      return
    }
    this.giveTo(thief, ahead ? Math.floor(this.load / 2) : this.stealableCount())
  }

  /** Steal half; a single task goes only if this peer's executor cannot take it now. */
  private stealableCount (): number {
    const queued = this.load
    const executorFull = this.executorSlots === 0 || this.activeTasks > 0
    return queued >= 2 ? Math.floor(queued / 2) : (queued === 1 && executorFull ? 1 : 0)
  }

  /**
   * Sends a thief the `count` oldest queued tasks (possibly none), or fewer if they exceed
   * STEAL_MAX_BYTES on the wire, telling their owners where they went.
   */
  private giveTo (thief: PeerId, count: number): void {
    const tasks: Task[] = []
    let bytes = 0
    while (tasks.length < count) {
      // Own offered tasks first: those the executor has not taken yet.
      const fromOffered = this.offered.length > 0
      const queue = fromOffered ? this.offered : this.deque
      const next = queue.first()
      if (next === undefined) break
      const size = taskWireBytes(next)
      if (tasks.length > 0 && bytes + size > STEAL_MAX_BYTES) break
      queue.shift()
      if (fromOffered && this.localRuns?.take(next.seq) !== true) continue
      bytes += size
      tasks.push(next)
    }
    for (const task of tasks) {
      const entry = task.owner === this.self ? this.owned.get(task.seq) : undefined
      task.hops = Math.max(task.hops ?? 0, entry?.hops ?? 0) + 1
      if (entry == null) continue
      entry.location = thief
      entry.hops = task.hops
      entry.via = undefined
      entry.offered = false
    }
    // Other owners learn where their tasks went (the thief itself knows).
    const moved = tasks.filter(t => t.owner !== this.self && t.owner !== thief)
    this.sendMovedNotices(moved, thief)
    if (tasks.length > 0) {
      this.stats.given += tasks.length
      // Work answers a waiting request too (the thief stops waiting for it).
      this.parkedThieves.delete(thief)
    }
    this.send(thief, { t: 'tasks', tasks, load: this.load })
  }

  private onStolenTasks (victim: PeerId, tasks: Task[], load: number): void {
    // A peer that gives work had work to give, so it has withdrawn the request it left waiting
    // here (advertiseLoad); answered, it got its own tasks back, late (a flood's slow runs: 84 ms).
    // An empty answer withdraws nothing, whatever load it reports: that peer still waits.
    if (tasks.length > 0) this.parkedThieves.delete(victim)
    const answersAhead = this.stealTarget === victim && this.stealingAhead
    if (this.stealTarget === victim) this.stealTarget = null
    if (this.parkedAt === victim && tasks.length > 0) this.parkedAt = null
    // A task whose owner is not one of this peer's peers yet: this peer joined the run a moment
    // ago, through another member, and has not linked to the owner. It could not tell the owner
    // of its result, and the owner, told by the giver that the task is here, would wait for it
    // for ever (a map stalled so). It goes back to the giver, who knows the owner.
    const kept: Task[] = []
    const strangers: Task[] = []
    for (const t of tasks) (t.owner === this.self || this.peerIds.has(t.owner) ? kept : strangers).push(t)
    if (strangers.length > 0) {
      for (const t of strangers) t.hops = (t.hops ?? 0) + 1
      if (this.peerIds.has(victim)) this.send(victim, { t: 'tasks', tasks: strangers, load: this.load, back: true })
      tasks = kept
      // Stealing from it again would get the same tasks: ask it again on news.
      if (tasks.length === 0) load = 0
    }
    if (this.leaving) {
      // A waiting request answered after this peer decided to leave: straight back to the owners.
      this.handBack(tasks.filter(t => t.owner !== this.self))
      for (const task of tasks) if (task.owner === this.self && this.ownTaskBack(task)) this.deque.push(task)
      return
    }
    if (tasks.length === 0 && answersAhead) {
      // It may well keep a last task for an idle thief: that may be this peer, in a moment.
      this.aheadRefused = true
      if (this.peerIds.has(victim)) this.setPeerLoad(victim, load)
      return
    }
    this.aheadRefused = false
    if (this.peerIds.has(victim)) {
      // Empty-handed, it has nothing stealable now whatever it queues: ask it again only on news.
      this.setPeerLoad(victim, tasks.length === 0 ? 0 : load)
    }
    if (tasks.length === 0) {
      this.stats.emptySteals++
      if (++this.emptyAnswers >= STEAL_PROBES_BEFORE_BACKOFF) {
        this.emptyAnswers = 0
        this.probeAt = this.now + this.probeBackoffMs
        this.probeBackoffMs = Math.min(this.probeBackoffMs * 2, STEAL_BACKOFF_MAX_MS)
      }
    } else {
      this.emptyAnswers = 0
      this.probeBackoffMs = STEAL_BACKOFF_MIN_MS
      this.probeAt = 0
    }
    // Owners other than the giver heard from it where their tasks went: now they are here.
    this.sendMovedNotices(tasks.filter(t => t.owner !== this.self && t.owner !== victim), this.self)
    // Queued newest first, so that they run in the order they came, the oldest first: a map's
    // chunks then finish in input order and its results flow to the consumer early.
    for (let k = tasks.length - 1; k >= 0; k--) {
      const task = tasks[k]
      if (task.owner === this.self && !this.ownTaskBack(task)) continue
      this.stats.stolen++
      this.deque.push(task)
    }
  }

  /**
   * Tasks this peer gave a thief that could not take them (see onStolenTasks): queued here again,
   * and their owners, told they went to the thief, learn that they are here (should this peer be
   * lost, they run them again). A task whose owner is not a peer here either is gone with it.
   */
  private onTasksHandedBack (thief: PeerId, tasks: Task[]): void {
    if (!this.peerIds.has(thief)) return
    const foreign: Task[] = []
    for (let k = tasks.length - 1; k >= 0; k--) {
      const task = tasks[k]
      if (task.owner === this.self) {
        if (!this.ownTaskBack(task)) continue
      } else if (this.peerIds.has(task.owner)) {
        foreign.push(task)
        if (this.leaving) continue
      } else {
        continue
      }
      this.deque.push(task)
    }
    this.sendMovedNotices(foreign, this.self)
    // A peer on its way out keeps nothing new: back to their owners, who now know it held them.
    if (this.leaving) this.handBack(foreign)
  }

  /** One of this peer's own tasks is back in its hands: false if it was cancelled meanwhile (then dropped). */
  private ownTaskBack (task: Task): boolean {
    const entry = this.owned.get(task.seq)
    if (entry == null) return false
    entry.location = null
    entry.via = undefined
    entry.hops = Math.max(entry.hops, task.hops ?? 0)
    return true
  }

  private onStarted (from: PeerId, seqs: number[]): void {
    for (const seq of seqs) {
      const entry = this.owned.get(seq)
      // A task still here (never given away, or back after its holder was lost) cannot have started elsewhere.
      if (entry == null || entry.started || entry.location === null) continue
      entry.started = true
      entry.location = from
      entry.via = undefined
      this.actions.push({ type: 'started', seq })
    }
  }

  private onResult (from: PeerId, seq: number, ok: boolean, data: Uint8Array, ms: number): void {
    // A result for a task this peer never gave away (or took back) is forged or stale: refused.
    // (Which peer holds a given-away task is not checked: a 'moved' notice may trail the result.)
    if (this.owned.get(seq)?.location == null) return
    this.resolveOwned(seq, ok, data, from, ms, false)
  }

  private onCancelRequest (owner: PeerId, seq: number): void {
    this.deque.removeWhere(t => t.owner === owner && t.seq === seq)
    const i = this.waitingForConsts.findIndex(t => t.owner === owner && t.seq === seq)
    if (i >= 0) this.waitingForConsts.splice(i, 1)
  }

  /** A leaving peer gave back tasks it had not started: queue them here again. */
  private onReturned (from: PeerId, seqs: number[]): void {
    for (const seq of seqs) {
      const entry = this.owned.get(seq)
      if (entry == null || entry.started || entry.location !== from) continue
      entry.location = null
      entry.via = undefined
      this.deque.push(entry.task)
      this.stats.requeued++
    }
  }

  /**
   * Where own tasks went: `from` gave them to `to`, or (from === to) `to` says it has them. Each
   * notice names the task's hop count; those of one task come over different links, in any
   * order, so only news of a later hop (or the holder's word on the current one) counts.
   */
  private onMoved (from: PeerId, seqs: number[], to: PeerId, hops: number[] | undefined): void {
    if (to === this.self) return // (own tasks come back in 'tasks' messages: see ownTaskBack)
    const byHolder = from === to
    for (let i = 0; i < seqs.length; i++) {
      const entry = this.owned.get(seqs[i])
      // Started elsewhere, or back here (queued again after a loss): where an older copy went no longer matters.
      if (entry == null || entry.started || entry.location === null) continue
      const hop = hops?.[i] ?? entry.hops + 1
      if (hop < entry.hops || (hop === entry.hops && !byHolder)) continue
      entry.hops = hop
      entry.location = to
      entry.via = byHolder ? undefined : from
      // The notice may trail the loss of the peer it names, or of the giver before the holder
      // had the task: it went down with them.
      const lostWith = this.departed.has(to) ? to : (entry.via !== undefined && this.departed.has(entry.via) ? entry.via : undefined)
      if (lostWith !== undefined) this.lostWith(seqs[i], entry, lostWith)
    }
  }

  /** Tells the owners of these tasks (given to, or now held by, `to`) where they are, with their hop counts. */
  private sendMovedNotices (tasks: Task[], to: PeerId): void {
    const byOwner = new Map<PeerId, { seqs: number[], hops: number[] }>()
    for (const { owner, seq, hops } of tasks) {
      let notice = byOwner.get(owner)
      if (notice === undefined) byOwner.set(owner, notice = { seqs: [], hops: [] })
      notice.seqs.push(seq)
      notice.hops.push(hops ?? 0)
    }
    for (const [owner, { seqs, hops }] of byOwner) this.send(owner, { t: 'moved', seqs, to, hops })
  }

  private resolveOwned (seq: number, ok: boolean, data: Uint8Array, peer: PeerId, ms: number, settled: boolean): void {
    // First result wins; a duplicate (re-executed task) or a cancelled task's result is dropped.
    const entry = this.owned.get(seq)
    if (entry === undefined) return
    this.owned.delete(seq)
    this.actions.push({ type: 'resolve', seq, ok, data, peer, ms, fn: entry.task.fn, items: Math.max(1, entry.task.chunk), settled })
  }

  /** Drops the offered tasks at either end that have been taken (most are taken by the executor, newest first). */
  private pruneOffered (): void {
    const runs = this.localRuns
    if (runs === undefined) return
    while (this.offered.length > 0 && runs.taken((this.offered.last() as Task).seq)) this.offered.pop()
    while (this.offered.length > 0 && runs.taken((this.offered.first() as Task).seq)) this.offered.shift()
  }

  // ---- the pump: feed the executor, then look for work elsewhere -------------------------------

  /** Tasks on the executor that have not yielded it, its own runs of its own tasks included. */
  private get activeTasks (): number { return this.executing.size - this.suspended.size + (this.localRuns?.running ?? 0) }

  /**
   * Nothing queued and a free executor slot: with one task still running, this peer steals ahead,
   * so the next task is here by the time the running one ends (a steal costs a round trip).
   */
  private wantsWork (): boolean {
    return !this.leaving && this.executorSlots > 0 && this.load === 0 && this.activeTasks < this.executorSlots &&
      this.suspended.size < MAX_SUSPENDED_TASKS
  }

  /**
   * The executor takes a task when it is idle; it takes a second one ahead (prefetch, hiding the
   * round trip between tasks) only if more work stays queued: a prefetched task cannot be stolen.
   */
  private executorHasRoom (): boolean {
    if (this.suspended.size >= MAX_SUSPENDED_TASKS) return false
    const active = this.activeTasks
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
      this.giveTo(thief, this.stealableCount())
    }
    this.advertiseLoad()
    this.trySteal()
  }

  /** Tells owners which of their tasks have been running here for a while (short ones report only their result). */
  private sendStartNotices (): void {
    if (this.startNotices.size === 0) return
    const due: Array<{ owner: PeerId, seq: number }> = []
    // Every notice is due STARTED_NOTICE_DELAY_MS after it was made: the map is in due order.
    for (const [key, notice] of this.startNotices) {
      if (notice.due > this.now) break
      this.startNotices.delete(key)
      due.push(notice)
    }
    for (const [owner, seqs] of seqsByOwner(due)) this.send(owner, { t: 'started', owner, seqs })
  }

  /**
   * Tells LOAD_ADVERT_FANOUT random peers when this peer has work to give (see stealableCount),
   * and the same peers when it has none any more: idle peers steal on that news. A lone task its
   * executor is about to run is no news: a loop that submits a task and waits for it made two
   * adverts per task to every peer, and a steal from each, all refused. The peer holding this
   * peer's waiting steal request hears it too, and drops the request: answered later, it would
   * send work to a peer that has its own (and half of it would come back).
   */
  private advertiseLoad (): void {
    const load = this.stealableCount() > 0 ? this.load : 0
    if ((load === 0) === (this.lastAdvertisedLoad === 0)) return
    this.lastAdvertisedLoad = load
    if (load > 0) {
      this.advertisedTo = this.peerIds.sample(LOAD_ADVERT_FANOUT, this.random)
      if (this.parkedAt !== null && !this.advertisedTo.includes(this.parkedAt)) this.advertisedTo.push(this.parkedAt)
      this.parkedAt = null
    }
    for (const peer of this.advertisedTo) if (this.peerIds.has(peer)) this.send(peer, { t: 'load', n: load })
    if (load === 0) this.advertisedTo = []
  }

  /** Adverts do not reach every peer: work may be queued where this peer has not heard of it. */
  private get probesRandomPeers (): boolean { return this.peerIds.size > LOAD_ADVERT_FANOUT }

  private trySteal (): void {
    if (!this.wantsWork() || this.stealTarget != null) return
    if (this.activeTasks > 0) {
      // Still busy: ask ahead, only a peer known to have work, and not again after a refusal.
      const victim = this.aheadRefused ? undefined : this.loadedPeers.pick(this.random)
      if (victim === undefined) return
      this.stealTarget = victim
      this.stealingAhead = true
      this.send(victim, { t: 'steal', ahead: true })
      return
    }
    let victim = this.loadedPeers.pick(this.random)
    if (victim === undefined) {
      // Nobody is known to have work: leave one waiting request with a random peer, answered as
      // soon as it has work (saves the advert's round trip).
      if (this.parkedAt == null && this.peerIds.size > 0) {
        this.parkedAt = this.peerIds.pick(this.random) as PeerId
        this.send(this.parkedAt, { t: 'steal', wait: true })
      }
      // In a small mesh every peer hears every advert: waiting is enough. In a big one, ask a
      // random peer (its answer carries its load), backing off while answers come back empty.
      if (this.probesRandomPeers && this.now >= this.probeAt) victim = this.peerIds.pick(this.random)
    }
    if (victim === undefined) return
    this.stealTarget = victim
    this.stealingAhead = false
    this.send(victim, { t: 'steal' })
  }

  private send (to: PeerId, msg: WireMessage): void {
    this.actions.push({ type: 'send', to, msg })
  }
}

/** Sequence numbers by owner, in order: one message per owner. */
function seqsByOwner (items: Iterable<{ owner: PeerId, seq: number }>): Map<PeerId, number[]> {
  const byOwner = new Map<PeerId, number[]>()
  for (const { owner, seq } of items) {
    const seqs = byOwner.get(owner)
    if (seqs === undefined) byOwner.set(owner, [seq])
    else seqs.push(seq)
  }
  return byOwner
}
