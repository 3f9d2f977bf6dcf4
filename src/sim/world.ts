// The simulator's driver: virtual peers, each holding the real sans-IO Scheduler and
// BrokerElection, wired together by the event queue and the network model, with virtual
// executors, heartbeats, links and churn. It plays the part PeerHost plays on a real mesh.

import { Scheduler, type SchedulerAction } from '../core/scheduler.js'
import { BrokerElection } from '../core/election.js'
import type { PeerId, PeerInfo, Task, WireMessage } from '../core/wire.js'
import { HEARTBEAT_INTERVAL_MS, HEARTBEAT_LEASE } from '../defaults.js'
import { EventQueue } from './event-queue.js'
import { NetworkModel, estimateMessageBytes, type NetworkConfig } from './network.js'
import { SeededRandom } from './random.js'

/**
 * What a simulated task does on the executor: hold it for `ms`, then either return a result of
 * `resultBytes`, or (with `spawn`) submit children, yield the executor while they run, and return
 * once all of them have resolved.
 */
export interface TaskSpec {
  ms: number
  payloadBytes: number
  resultBytes: number
  /** Items for a map chunk (Task.chunk), 0 for a single call. */
  items: number
  spawn?: () => TaskSpec[]
}

export interface WorldConfig {
  peers: number
  seed: number
  network: NetworkConfig
  /** After a peer dies, the others notice its connections closing this long (plus one trip) later. */
  detectMs: number
  /**
   * 'host': as PeerHost does, a closed connection removes the peer from the election at once and
   * linked peers count as alive at every heartbeat. 'lease': the election hears heartbeats only,
   * so a dead peer leaves it when its lease runs out (a peer reached over gossip relays only).
   */
  electionMode: 'host' | 'lease'
  /**
   * False: no heartbeats and no BrokerElection calls. Scheduling never reads the election (loads
   * travel on the task protocol), and heartbeats cost O(peers²) events per interval (each goes
   * to every peer), so workload runs leave it out to stay fast.
   */
  election?: boolean
  heartbeatMs?: number
  /** Stop after this many events whatever happens: every run is bounded. */
  maxEvents?: number
}

interface Job { task: Task, resume: boolean }
interface WaitingParent { task: Task, pending: number }

export class VirtualPeer {
  readonly scheduler: Scheduler
  readonly election: BrokerElection
  alive = false
  /** Peers whose hello arrived and whose connection is not known closed: PeerHost's linked peers. */
  readonly linked: Uint8Array
  linkedCount = 0
  readonly jobs: Job[] = []
  running = false
  busyMs = 0
  /** When this peer's executor first held a task that computes, and when it last finished one (for the idle breakdown). */
  firstBusyAt: number | undefined
  lastBusyEnd: number | undefined
  wakeAt: number | undefined
  nextSeq = 1
  /** Children this peer submitted for a task it runs, by child seq. */
  readonly waiting = new Map<number, WaitingParent>()
  vote: PeerId | undefined

  constructor (readonly index: number, readonly info: PeerInfo, peerCount: number, leaseMs: number, random: SeededRandom) {
    this.scheduler = new Scheduler({ self: info.id, random: () => random.next() })
    this.election = new BrokerElection(info, leaseMs)
    this.linked = new Uint8Array(peerCount)
  }

  get id (): PeerId { return this.info.id }
}

export interface Agreement { time: number, broker: PeerId }

export class SimWorld {
  readonly queue = new EventQueue()
  readonly network: NetworkModel
  readonly peers: VirtualPeer[]
  readonly heartbeatMs: number
  now = 0
  events = 0
  /** True if a run stopped on the event bound rather than on its goal. */
  truncated = false
  /** Task-protocol messages sent by schedulers, by kind. */
  readonly messages = new Map<string, number>()
  messageTotal = 0
  /** Directed links whose hello has arrived. */
  linksUp = 0
  heartbeatsSent = 0
  heartbeatsDropped = 0
  /** Moments when every live started peer came to name the same live broker. */
  readonly agreements: Agreement[] = []
  /** Called when a task owned by `peer` resolves (the Scheduler's 'resolve' action). */
  onResolve: ((peer: VirtualPeer, seq: number, ms: number) => void) | undefined

  private readonly byId = new Map<PeerId, VirtualPeer>()
  private readonly specs = new Map<string, TaskSpec>()
  private readonly votes = new Map<PeerId, number>()
  private agreedOn: PeerId | undefined
  private plannedStarts = 0
  private liveStarted = 0
  /** Epoch → the peer that acted as broker in it, or '' once two peers did. */
  private readonly claims = new Map<number, PeerId>()
  conflictingEpochs = 0
  /** Moments a peer started acting as broker (its claim acknowledged by its whole view). */
  readonly actingSince: Agreement[] = []
  private readonly maxEvents: number
  private readonly electing: boolean

  constructor (readonly config: WorldConfig) {
    this.heartbeatMs = config.heartbeatMs ?? HEARTBEAT_INTERVAL_MS
    this.maxEvents = config.maxEvents ?? 50_000_000
    this.electing = config.election ?? true
    this.network = new NetworkModel(config.network, config.peers, SeededRandom.derive(config.seed, 0))
    const width = String(config.peers - 1).length
    this.peers = []
    for (let i = 0; i < config.peers; i++) {
      // Zero-padded ids: the election's lowest-id tie-break then follows the peer number.
      const info: PeerInfo = { id: `p${String(i).padStart(width, '0')}`, name: `peer-${i}`, addrs: [], startedAt: 0 }
      const peer = new VirtualPeer(i, info, config.peers, this.heartbeatMs * HEARTBEAT_LEASE, SeededRandom.derive(config.seed, i + 1))
      this.peers.push(peer)
      this.byId.set(info.id, peer)
    }
  }

  get allStarted (): boolean { return this.liveStarted > 0 && this.plannedStarts === 0 }
  /** The broker every live peer currently names, if they agree. */
  get agreedBroker (): PeerId | undefined { return this.agreedOn }
  get busyMs (): number { return this.peers.reduce((sum, p) => sum + p.busyMs, 0) }
  peer (id: PeerId): VirtualPeer | undefined { return this.byId.get(id) }

  // ---- the clock ----------------------------------------------------------------------------

  /** Runs events up to time `until`, or until `stop` says so after an event. */
  run (until: number, stop?: () => boolean): void {
    for (;;) {
      const t = this.queue.peekTime()
      if (t === undefined || t > until) break
      if (this.events >= this.maxEvents) { this.truncated = true; return }
      const event = this.queue.pop() as NonNullable<ReturnType<EventQueue['pop']>>
      this.now = event.time
      this.events++
      event.run()
      if (stop?.() === true) return
    }
    if (Number.isFinite(until)) this.now = Math.max(this.now, until)
  }

  // ---- membership ---------------------------------------------------------------------------

  /** Starts peer `index` at time `at`: it links with every live peer and heartbeats from then on. */
  start (index: number, at: number): void {
    const peer = this.peers[index]
    // PeerInfo.startedAt is what the election ranks by: a wall-clock millisecond in the real host.
    peer.info.startedAt = Math.floor(at)
    this.plannedStarts++
    this.queue.push(at, () => {
      this.plannedStarts--
      peer.alive = true
      this.liveStarted++
      for (const other of this.peers) {
        if (other === peer || !other.alive) continue
        // TCP handshake, then noise and yamux: about two round trips before the first frame.
        const up = this.now + this.network.latency() + this.network.latency() + this.network.latency() + this.network.latency()
        this.queue.push(up, () => { this.linkUp(peer, other) })
      }
      if (this.electing) this.queue.push(this.now + this.heartbeatMs, () => { this.heartbeat(peer) })
      this.noteVote(peer)
    })
  }

  /** Kills a peer at `at` (`pick` may choose it then, e.g. whoever is broker at that moment). */
  kill (at: number, pick: number | (() => VirtualPeer | undefined), onKilled?: (peer: VirtualPeer) => void): void {
    this.queue.push(at, () => {
      const peer = typeof pick === 'number' ? this.peers[pick] : pick()
      if (peer === undefined || !peer.alive) return
      peer.alive = false
      peer.jobs.length = 0
      this.liveStarted--
      this.dropVote(peer)
      onKilled?.(peer)
      for (const other of this.peers) {
        if (!other.alive) continue
        this.queue.push(this.now + this.config.detectMs + this.network.latency(), () => { this.onConnectionClosed(other, peer) })
      }
      this.checkAgreement(this.agreedOn)
    })
  }

  private linkUp (a: VirtualPeer, b: VirtualPeer): void {
    if (!a.alive || !b.alive) return
    this.sendHello(a, b)
    this.sendHello(b, a)
  }

  private sendHello (from: VirtualPeer, to: VirtualPeer): void {
    const load = from.scheduler.load
    const at = this.network.streamArrival(from.index, to.index, estimateMessageBytes({ t: 'hello', peer: from.info, load }), this.now)
    this.queue.push(at, () => {
      if (!to.alive || !from.alive) return
      if (to.linked[from.index] === 0) { this.linksUp++; to.linkedCount++ }
      to.linked[from.index] = 1
      if (this.electing) to.election.onPeerSeen(from.info, load, this.now)
      to.scheduler.onPeerJoined(from.id, load, this.now)
      this.noteVote(to)
      this.drain(to)
    })
  }

  private onConnectionClosed (observer: VirtualPeer, gone: VirtualPeer): void {
    if (!observer.alive || observer.linked[gone.index] === 0) return
    observer.linked[gone.index] = 0
    observer.linkedCount--
    if (this.electing && this.config.electionMode === 'host') observer.election.onPeerLeft(gone.id)
    observer.scheduler.onPeerLeft(gone.id, this.now)
    this.noteVote(observer)
    this.drain(observer)
  }

  /** Gossip: the heartbeat reaches every live peer after one trip, unless it is lost. */
  private heartbeat (peer: VirtualPeer): void {
    if (!peer.alive) return
    const load = peer.scheduler.load
    const epoch = peer.election.epoch
    this.heartbeatsSent++
    for (const other of this.peers) {
      if (other === peer || !other.alive) continue
      if (this.network.dropsDatagram()) { this.heartbeatsDropped++; continue }
      this.queue.push(this.now + this.network.latency(), () => {
        if (!other.alive || other.linked[peer.index] === 0) return
        other.election.onPeerSeen(peer.info, load, this.now, epoch)
        this.noteVote(other)
      })
    }
    if (this.config.electionMode === 'host') {
      // PeerHost: directly linked peers count as alive even when gossip has not reached them.
      for (const other of this.peers) {
        if (peer.linked[other.index] === 1) peer.election.onPeerSeen(other.info, 0, this.now)
      }
    }
    peer.election.onTick(this.now)
    this.noteVote(peer)
    this.queue.push(this.now + this.heartbeatMs, () => { this.heartbeat(peer) })
  }

  // ---- who is broker ------------------------------------------------------------------------

  private noteVote (peer: VirtualPeer): void {
    if (!peer.alive || !this.electing) return
    this.exchangeClaims(peer)
    const broker = peer.election.broker.id
    if (peer.election.isBroker) this.noteClaim(peer)
    if (broker === peer.vote) return
    this.dropVote(peer)
    peer.vote = broker
    this.votes.set(broker, (this.votes.get(broker) ?? 0) + 1)
    this.checkAgreement(broker)
  }

  private dropVote (peer: VirtualPeer): void {
    if (peer.vote === undefined) return
    const left = (this.votes.get(peer.vote) ?? 1) - 1
    if (left === 0) this.votes.delete(peer.vote)
    else this.votes.set(peer.vote, left)
    if (this.agreedOn === peer.vote) this.agreedOn = undefined
    peer.vote = undefined
  }

  private checkAgreement (candidate: PeerId | undefined): void {
    if (candidate === undefined) return
    const holder = this.byId.get(candidate)
    const agreed = this.allStarted && holder?.alive === true && this.votes.get(candidate) === this.liveStarted
    if (agreed && this.agreedOn !== candidate) {
      this.agreedOn = candidate
      this.agreements.push({ time: this.now, broker: candidate })
    } else if (!agreed && this.agreedOn === candidate) {
      this.agreedOn = undefined
    }
  }

  /** Sends a peer's new broker claim to its linked peers and its acknowledgements to their claimants (task-stream messages). */
  private exchangeClaims (peer: VirtualPeer): void {
    for (const ack of peer.election.takeAcks()) {
      const to = this.byId.get(ack.to)
      if (to === undefined || peer.linked[to.index] === 0) continue
      const at = this.network.streamArrival(peer.index, to.index, estimateMessageBytes({ t: 'brokerAck', epoch: ack.epoch, consts: [] }), this.now)
      this.queue.push(at, () => {
        if (!to.alive || !peer.alive) return
        to.election.onAck(peer.id, ack.epoch)
        this.noteVote(to)
      })
    }
    const claim = peer.election.takeClaim()
    if (claim === undefined) return
    for (const other of this.peers) {
      if (peer.linked[other.index] === 0) continue
      const at = this.network.streamArrival(peer.index, other.index, estimateMessageBytes({ t: 'brokerClaim', epoch: claim }), this.now)
      this.queue.push(at, () => {
        if (!other.alive || !peer.alive) return
        other.election.onClaim(peer.id, claim, this.now)
        this.noteVote(other)
      })
    }
  }

  /**
   * Two peers acting as broker in the same epoch would both number constants. A peer acting
   * alone is a mesh of its own, not a second broker of this one: it does not count.
   */
  private noteClaim (peer: VirtualPeer): void {
    const epoch = peer.election.claimedEpoch
    if (epoch === undefined || peer.election.size === 1) return
    const claimant = this.claims.get(epoch)
    if (claimant === undefined) {
      this.actingSince.push({ time: this.now, broker: peer.id })
      this.claims.set(epoch, peer.id)
    } else if (claimant !== '' && claimant !== peer.id) {
      this.claims.set(epoch, '')
      this.conflictingEpochs++
    }
  }

  // ---- tasks --------------------------------------------------------------------------------

  /** Submits a task owned by `peer` (what futures.submit does on that peer); returns its seq. */
  submit (peer: VirtualPeer, spec: TaskSpec): number {
    const seq = peer.nextSeq++
    const task: Task = { owner: peer.id, seq, fn: 'export:sim', payload: new Uint8Array(spec.payloadBytes), chunk: spec.items, constSeq: 0 }
    this.specs.set(`${peer.id}#${seq}`, spec)
    peer.scheduler.submit(task, this.now)
    return seq
  }

  /** Performs the scheduler's actions, then feeds the executor and sets the next wake-up. */
  drain (peer: VirtualPeer): void {
    // A resolve may submit more work (a map refilling its window): drain until quiet, bounded.
    for (let round = 0; round < 1000; round++) {
      const actions = peer.scheduler.takeActions()
      if (actions.length === 0) break
      for (const action of actions) this.perform(peer, action)
    }
    this.scheduleWakeup(peer)
    this.runNextJob(peer)
  }

  private perform (peer: VirtualPeer, action: SchedulerAction): void {
    switch (action.type) {
      case 'send': this.send(peer, action.to, action.msg); break
      case 'execute': peer.jobs.push({ task: action.task, resume: false }); break
      case 'resolve': {
        const parent = peer.waiting.get(action.seq)
        if (parent !== undefined) {
          peer.waiting.delete(action.seq)
          if (--parent.pending === 0) peer.jobs.push({ task: parent.task, resume: true })
        }
        this.onResolve?.(peer, action.seq, action.ms)
        break
      }
      case 'started': break
      case 'fetchConsts': break // the simulator defines no shared constants
    }
  }

  private send (from: VirtualPeer, to: PeerId, msg: WireMessage): void {
    const target = this.byId.get(to)
    if (target === undefined) return
    this.messageTotal++
    this.messages.set(msg.t, (this.messages.get(msg.t) ?? 0) + 1)
    const at = this.network.streamArrival(from.index, target.index, estimateMessageBytes(msg), this.now)
    this.queue.push(at, () => {
      // A closed connection delivers nothing more; a dead peer receives nothing.
      if (!target.alive || target.linked[from.index] === 0) return
      target.scheduler.onMessage(from.id, msg, this.now)
      this.drain(target)
    })
  }

  private scheduleWakeup (peer: VirtualPeer): void {
    const wanted = peer.scheduler.nextWakeup()
    if (wanted === undefined) return
    const at = Math.max(wanted, this.now)
    if (peer.wakeAt !== undefined && peer.wakeAt <= at) return
    peer.wakeAt = at
    this.queue.push(at, () => {
      if (!peer.alive || peer.wakeAt !== at) return
      peer.wakeAt = undefined
      peer.scheduler.onTick(this.now)
      this.drain(peer)
    })
  }

  /** The executor thread runs one job at a time: a task's synchronous part, or a resumed parent. */
  private runNextJob (peer: VirtualPeer): void {
    if (peer.running || !peer.alive) return
    const job = peer.jobs.shift()
    if (job === undefined) return
    const { task } = job
    const spec = this.specs.get(`${task.owner}#${task.seq}`)
    const ms = job.resume || spec === undefined ? 0 : spec.ms
    peer.running = true
    if (ms > 0) peer.firstBusyAt ??= this.now
    this.queue.push(this.now + ms, () => {
      if (!peer.alive) return
      peer.running = false
      peer.busyMs += ms
      if (ms > 0) peer.lastBusyEnd = this.now
      const spawned = job.resume ? undefined : spec?.spawn?.()
      if (spawned !== undefined && spawned.length > 0) {
        const parent: WaitingParent = { task, pending: spawned.length }
        for (const child of spawned) peer.waiting.set(this.submit(peer, child), parent)
        peer.scheduler.onExecutorYield(task.owner, task.seq, this.now)
      } else {
        peer.scheduler.onExecutorResult(task.owner, task.seq, true, new Uint8Array(spec?.resultBytes ?? 0), ms, this.now)
      }
      this.drain(peer)
    })
  }
}
