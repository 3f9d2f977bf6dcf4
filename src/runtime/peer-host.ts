// A peer's host: the libp2p node, the mesh membership and broker election, and one RunSpace
// per run this peer knows (scheduler, constants, executor). It never runs user code; executors
// do, on other threads. A short-lived worker serves the one run it was started for; a
// long-lived one (`scoop-node --join`) serves every run announced on its mesh.

import { logger } from '@libp2p/logger'
import { MeshNode, peerIdOfAddress } from '../mesh/node.js'
import { BrokerElection } from '../core/election.js'
import { encode, decode } from '../core/codec.js'
import { isPeerFigures, type MeshStatus, type PeerFigures, type PeerId, type PeerInfo, type PeerStatus, type RunSpec, type TaskEvent, type WireMessage } from '../core/wire.js'
import type { RuntimeInfo } from './thread-messages.js'
import { RunSpace, type RunExecutor, type RunHost } from './run-space.js'
import { TaskLog } from './task-log.js'
import { waitFor } from './waiting.js'
import { BOOTSTRAP_RETRY_MS, DIAL_TIMEOUT_MS, JOIN_RETRY_MS, HEARTBEAT_INTERVAL_MS, HEARTBEAT_LEASE, MAX_RUNS_PER_PEER, REJOIN_DELAY_MS } from '../defaults.js'

const log = logger('scoop:host')

/** The gossip topic of mesh membership: heartbeats with each peer's info, load, epoch and figures. */
const MEMBERSHIP_TOPIC = '/scoop/membership/1'

export interface PeerHostInit {
  workerName: string
  listen?: string[]
  /** The mesh's pre-shared swarm key (see MeshNodeInit.swarmKey). */
  swarmKey?: Uint8Array
  /** This peer's identity (see MeshNodeInit.identity). */
  identity?: Uint8Array
  /** Find and link peers on the local network by mDNS (see MeshNodeInit.mdns for the listen address it needs). */
  mdns?: boolean
  /**
   * Starts an executor for a run this peer learns of. Without it the peer takes part only in
   * runs started on it (the origin), and holds other runs' constants if it is the broker.
   * `failed` reports that the executor could not load the run's module.
   */
  startExecutor?: (spec: RunSpec, info: RuntimeInfo, failed: (error: string) => void) => RunExecutor
  /** Something the user should hear of (see MeshEvents.onWarning). */
  onWarning?: (message: string) => void
  /** A peer could not take part in a run started here (told only to the run's origin). */
  onRunRefused?: (spec: RunSpec, peerName: string, error: string) => void
  /** A run ended here (its origin left): a worker started for that run alone then exits. */
  onRunEnded?: (id: string) => void
}

interface Heartbeat { peer: PeerInfo, load: number, epoch: number, figures: PeerFigures }

/** A peer's figures from its last heartbeat, and its tasks per second since the one before. */
interface HeardFigures { figures: PeerFigures, at: number, rate: number }

/** Names of departed peers kept for error messages that mention them. */
const LOST_PEER_NAMES_KEPT = 1024

const NO_FIGURES: PeerFigures = { done: 0, running: 0, given: 0, taken: 0, cpu: 0, rssMb: 0, runs: [] }

export class PeerHost implements RunHost {
  readonly election: BrokerElection
  readonly self: PeerInfo
  readonly runs = new Map<string, RunSpace>()
  private readonly peerInfo = new Map<PeerId, PeerInfo>()
  /** Names of peers that left, for errors that mention them. */
  private readonly lostPeerNames = new Map<PeerId, string>()
  private heartbeat: NodeJS.Timeout | undefined
  private lastBroker: PeerId
  /** Whether this peer acted as broker at the last look (see onViewChanged). */
  private wasActing = false
  private stopped = false
  private taskListener: ((event: TaskEvent) => void) | undefined
  private readonly taskLog = new TaskLog()
  /** join() calls waiting for a linked peer's hello, by peer (see introduced). */
  private readonly introductionWaiters = new Map<PeerId, Array<() => void>>()
  /** Addresses this peer keeps a link to (see keepLinked), by the peer id they name. */
  private readonly keptLinks = new Map<PeerId, string>()
  /** What runs that have ended here did (live runs count their own); items: a map chunk counts its items. */
  private readonly endedRuns = { done: 0, items: 0, given: 0, taken: 0 }
  /** Each peer's figures from its heartbeats; this peer's from its own. */
  private readonly heard = new Map<PeerId, HeardFigures>()
  /** CPU time used by this process at the last heartbeat, for its CPU %. */
  private lastCpu = { usage: process.cpuUsage(), at: Date.now() }

  private constructor (readonly mesh: MeshNode, private readonly init: PeerHostInit, startedAt: number) {
    this.self = { id: mesh.peerId, name: init.workerName, addrs: mesh.multiaddrs, startedAt }
    this.election = new BrokerElection(this.self, HEARTBEAT_INTERVAL_MS * HEARTBEAT_LEASE)
    this.lastBroker = this.self.id
  }

  static async start (init: PeerHostInit): Promise<PeerHost> {
    const startedAt = Date.now()
    let host: PeerHost | undefined
    const mesh = await MeshNode.create({ listen: init.listen, swarmKey: init.swarmKey, mdns: init.mdns, identity: init.identity }, {
      onPeerConnected: peer => { host?.onPeerConnected(peer) },
      onPeerDisconnected: peer => { host?.onPeerDisconnected(peer) },
      onMessages: (from, run, messages) => { host?.onMessages(from, run, messages) },
      onGossip: (topic, data, from) => { host?.onGossip(topic, data, from) },
      onWarning: init.onWarning
    })
    host = new PeerHost(mesh, init, startedAt)
    mesh.subscribe(MEMBERSHIP_TOPIC)
    host.heartbeat = setInterval(() => { host?.onHeartbeatTimer() }, HEARTBEAT_INTERVAL_MS)
    host.heartbeat.unref()
    return host
  }

  // ---- RunHost ------------------------------------------------------------------------------

  get selfId (): PeerId { return this.self.id }
  send (peer: PeerId, msg: WireMessage, run: string): void { this.mesh.send(peer, msg, run) }
  publish (topic: string, data: Uint8Array): void { this.mesh.publish(topic, data) }
  subscribe (topic: string): void { this.mesh.subscribe(topic) }
  unsubscribe (topic: string): void { this.mesh.unsubscribe(topic) }
  linkedPeers (): PeerId[] { return this.mesh.connectedPeers }
  brokerId (): PeerId { return this.election.broker.id }
  isBroker (): boolean { return this.election.isBroker }
  peerName (peer: PeerId): string {
    if (peer === this.self.id) return this.self.name
    return this.peerInfo.get(peer)?.name ?? this.lostPeerNames.get(peer) ?? peer
  }

  meshInfo (): Omit<RuntimeInfo, 'size'> {
    const broker = this.election.broker
    return { peerId: this.self.id, multiaddrs: this.self.addrs, workerName: this.self.name, brokerName: broker.name, brokerAddress: broker.addrs[0] ?? '' }
  }

  /** A task this peer owned finished: kept for dashboards that ask (TaskLog) and told to the local one. */
  onTaskDone (event: TaskEvent): void {
    this.taskLog.add(event)
    this.taskListener?.(event)
  }

  /** Listens to the tasks this peer owns as they finish (one listener: the origin's dashboard). */
  listenToTasks (listener: (event: TaskEvent) => void): void { this.taskListener = listener }

  onExecutorShutdown (run: RunSpace): void {
    // The origin's script is done: this process ends with it.
    if (run.spec?.origin === this.self.id) void this.stop()
  }

  // ---- runs ---------------------------------------------------------------------------------

  /** Starts a run whose main part runs here: this peer is its origin and takes part at once. */
  startRun (spec: RunSpec, executor: RunExecutor, runsTasks = true): RunSpace {
    const run = new RunSpace(spec.id, spec, this, runsTasks)
    this.runs.set(spec.id, run)
    run.attachExecutor(executor)
    run.join()
    return run
  }

  /**
   * A run this peer heard of: with an executor starter, load the run's module and take part
   * once it is loaded. Returns undefined when the run cannot be kept (too many runs).
   */
  learnRun (spec: RunSpec): RunSpace | undefined {
    let run = this.runs.get(spec.id)
    if (run?.closed === true) return undefined
    if (run == null) {
      if (this.runs.size >= MAX_RUNS_PER_PEER) {
        log.error('ignoring run %s: this peer already keeps %d runs', spec.id, this.runs.size)
        return undefined
      }
      run = new RunSpace(spec.id, spec, this)
      this.runs.set(spec.id, run)
      log('run %s of %s: %s', spec.id, this.peerName(spec.origin), spec.script)
    }
    run.spec ??= spec
    if (run.awaitsExecutor && this.init.startExecutor != null && spec.origin !== this.self.id) {
      const space = run
      const failed = (error: string): void => {
        log.error('cannot take part in run %s: %s', spec.id, error)
        space.fail()
        this.mesh.send(spec.origin, { t: 'runRefused', run: spec.id, error }, '')
      }
      try {
        run.attachExecutor(this.init.startExecutor(spec, run.info(), failed))
      } catch (err) {
        failed((err as Error).message)
      }
    }
    return run
  }

  /** The run is over here: its executor ends and no message of the run is handled any more. */
  endRun (id: string): void {
    const run = this.runs.get(id)
    if (run == null || run.closed) return
    log('run %s ended', id)
    const stats = run.scheduler.stats
    this.endedRuns.done += stats.executed
    this.endedRuns.items += stats.executedItems
    this.endedRuns.given += stats.given
    this.endedRuns.taken += stats.stolen
    run.close()
    // Keep the closed entry: late messages of the run must not revive it. Bounded by MAX_RUNS_PER_PEER.
    this.forgetClosedRuns()
    this.init.onRunEnded?.(id)
  }

  private forgetClosedRuns (): void {
    if (this.runs.size < MAX_RUNS_PER_PEER / 2) return
    for (const [id, run] of this.runs) if (run.closed) this.runs.delete(id)
  }

  // ---- life-cycle ---------------------------------------------------------------------------

  /**
   * Links the peer at `address` and resolves once it has introduced itself (hello): this peer
   * then knows the mesh and its broker. Resolving at the link alone let an origin that had just
   * joined a mesh take itself for the broker of a mesh of one, and number its first constant
   * where nobody else would ever see it (its tasks then waited for that constant forever).
   */
  async join (address: string, timeoutMs = DIAL_TIMEOUT_MS): Promise<void> {
    try {
      const signal = AbortSignal.timeout(timeoutMs)
      const peer = await this.mesh.dial(address, { signal })
      await this.introduced(peer, signal)
    } catch (err) {
      log.error('could not join %s: %s', address, (err as Error).message)
      throw new Error(`could not reach peer ${address}: ${(err as Error).message}`)
    }
  }

  /** Resolves once `peer` has introduced itself (at once if it has). */
  private async introduced (peer: PeerId, signal: AbortSignal): Promise<void> {
    if (this.peerInfo.has(peer)) return
    const hello = new Promise<void>(resolve => {
      this.introductionWaiters.set(peer, [...(this.introductionWaiters.get(peer) ?? []), resolve])
    })
    await waitFor(hello, { signal }, () => new Error(`no hello from ${peer}`))
  }

  /**
   * Leaves the mesh without losing work: every run hands its queued tasks back to their owners
   * and finishes the running ones, for at most `graceMs`; then the node stops. Tasks still
   * running then are re-queued by their owners when the link drops, as for a lost peer.
   */
  async leave (graceMs: number): Promise<{ handedBack: number, unfinished: number }> {
    const live = this.liveRuns()
    let handedBack = 0
    let timer: NodeJS.Timeout | undefined
    await new Promise<void>(resolve => {
      const check = (): void => { if (live.every(r => r.idle)) resolve() }
      for (const run of live) handedBack += run.leave(check)
      timer = setTimeout(resolve, graceMs)
      check()
    })
    clearTimeout(timer)
    const unfinished = live.filter(r => !r.idle).length
    await this.stop()
    return { handedBack, unfinished }
  }

  /**
   * Joins at least one of `addresses`, trying again for up to `withinMs` (a long-lived worker
   * may be restarting just then, a dial may stall); throws the last error if none could be
   * reached by then. Resolves at the first join: a --join peer that is down does not hold it up.
   * The first failure that is tried again is reported (onWarning), so that a wait is explained.
   */
  async joinAny (addresses: string[], withinMs: number, attemptMs = DIAL_TIMEOUT_MS): Promise<void> {
    if (addresses.length === 0) return
    const deadline = Date.now() + withinMs
    for (let attempt = 1; ; attempt++) {
      try {
        await Promise.any(addresses.map(async addr => { await this.join(addr, attemptMs) }))
        if (attempt > 1) log('joined %s at attempt %d', addresses.join(' '), attempt)
        return
      } catch (err) {
        const errors = (err as AggregateError).errors
        if (Date.now() + JOIN_RETRY_MS > deadline) throw errors[errors.length - 1]
        if (attempt === 1) this.init.onWarning?.(`${(errors[0] as Error).message}; trying again for up to ${Math.ceil((deadline - Date.now()) / 1000)} s`)
      }
      await new Promise(resolve => setTimeout(resolve, JOIN_RETRY_MS))
    }
  }

  /**
   * Keeps a link to the peer at `address` (with its /p2p/ id): joins it now, and again whenever
   * the link drops, since a restarted long-lived worker comes back at the same address. A failure
   * is reported once (onWarning) and tried again every BOOTSTRAP_RETRY_MS; it never throws.
   */
  keepLinked (address: string): void {
    const peer = peerIdOfAddress(address)
    if (peer !== undefined) this.keptLinks.set(peer, address)
    this.rejoin(address, peer, 0)
  }

  private rejoin (address: string, peer: PeerId | undefined, failures: number): void {
    if (this.stopped || (peer !== undefined && this.mesh.isLinked(peer))) return
    this.join(address).then(() => {
      if (failures > 0) this.init.onWarning?.(`reached ${address}`)
    }, (err: Error) => {
      if (failures === 0) this.init.onWarning?.(`${err.message}; trying again every ${BOOTSTRAP_RETRY_MS / 1000} s`)
      setTimeout(() => { this.rejoin(address, peer, failures + 1) }, BOOTSTRAP_RETRY_MS).unref()
    })
  }

  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    clearInterval(this.heartbeat)
    for (const run of this.runs.values()) run.close()
    await this.mesh.stop()
  }

  /** Task items this peer has run, all runs together: a map chunk counts its items (what --max-tasks-per-worker counts). */
  get itemsDone (): number {
    let items = this.endedRuns.items
    for (const run of this.liveRuns()) items += run.scheduler.stats.executedItems
    return items
  }

  private liveRuns (): RunSpace[] {
    return [...this.runs.values()].filter(run => !run.closed)
  }

  /** What this peer reports of its work with its heartbeat. */
  private ownFigures (now: number): PeerFigures {
    const live = this.liveRuns()
    const sum = (pick: (stats: RunSpace['scheduler']['stats']) => number): number => live.reduce((total, run) => total + pick(run.scheduler.stats), 0)
    const usage = process.cpuUsage()
    const cpuMicros = usage.user + usage.system - this.lastCpu.usage.user - this.lastCpu.usage.system
    const cpu = now > this.lastCpu.at ? cpuMicros / 10 / (now - this.lastCpu.at) : 0
    this.lastCpu = { usage, at: now }
    return {
      done: this.endedRuns.done + sum(s => s.executed),
      running: live.reduce((total, run) => total + run.scheduler.running, 0),
      given: this.endedRuns.given + sum(s => s.given),
      taken: this.endedRuns.taken + sum(s => s.stolen),
      cpu: Math.round(cpu * 10) / 10,
      rssMb: Math.round(process.memoryUsage().rss / (1024 * 1024)),
      runs: live.map(run => ({ run: run.id, done: run.scheduler.stats.executed, running: run.scheduler.running, queued: run.scheduler.load }))
    }
  }

  private recordFigures (peer: PeerId, figures: PeerFigures, now: number): void {
    const last = this.heard.get(peer)
    const rate = last != null && now > last.at ? Math.max(0, figures.done - last.figures.done) * 1000 / (now - last.at) : 0
    this.heard.set(peer, { figures, at: now, rate })
  }

  /** This peer's view of the mesh, as `scoop-node status` shows it. */
  status (): MeshStatus {
    const entry = (info: PeerInfo, load: number): PeerStatus => {
      const heard = this.heard.get(info.id)
      return { ...info, load, ...(heard?.figures ?? NO_FIGURES), rate: heard?.rate ?? 0 }
    }
    return {
      self: this.self.id,
      broker: this.election.broker.id,
      epoch: this.election.epoch,
      peers: [entry(this.self, this.load), ...this.election.view().map(m => entry(m, m.load))],
      runs: this.liveRuns().filter(r => r.spec != null).map(r => ({
        id: r.id, origin: this.peerName(r.spec!.origin), script: r.spec!.script, members: r.members.size + (r.joined ? 1 : 0)
      }))
    }
  }

  /** Tasks queued on this peer, all runs together: its load as the mesh sees it. */
  private get load (): number {
    let load = 0
    for (const run of this.runs.values()) load += run.scheduler.load
    return load
  }

  // ---- mesh ---------------------------------------------------------------------------------

  private onPeerConnected (peer: PeerId): void {
    this.mesh.send(peer, { t: 'hello', peer: this.self, load: this.load })
    for (const run of this.runs.values()) run.onPeerLinked(peer)
  }

  private onPeerDisconnected (peer: PeerId): void {
    log('peer %s left', peer)
    const info = this.peerInfo.get(peer)
    if (info != null) {
      this.lostPeerNames.set(peer, info.name)
      // A long-lived peer sees origins come and go for weeks: remember only the latest names.
      if (this.lostPeerNames.size > LOST_PEER_NAMES_KEPT) this.lostPeerNames.delete(this.lostPeerNames.keys().next().value as PeerId)
    }
    this.heard.delete(peer)
    this.peerInfo.delete(peer)
    this.introductionWaiters.delete(peer)
    this.election.onPeerLeft(peer, Date.now())
    const kept = this.keptLinks.get(peer)
    if (kept !== undefined) setTimeout(() => { this.rejoin(kept, peer, 0) }, REJOIN_DELAY_MS).unref()
    for (const run of this.runs.values()) {
      // A run whose origin is gone is over: nobody is left to use its results.
      if (run.spec?.origin === peer) this.endRun(run.id)
      else run.onPeerLeft(peer)
    }
    this.onViewChanged()
  }

  private onMessages (from: PeerId, runId: string, messages: WireMessage[]): void {
    if (runId !== '') {
      this.runMessages(from, runId, messages)
      return
    }
    const now = Date.now()
    for (const msg of messages) {
      switch (msg.t) {
        case 'hello': this.onHello(from, msg.peer, msg.load, now); break
        case 'peers':
          for (const p of msg.peers) {
            if (p.id !== this.self.id && !this.mesh.isLinked(p.id) && p.addrs.length > 0) {
              this.mesh.dialPeer(p.id, p.addrs).catch((err: Error) => { log('could not reach %s: %s', p.name, err.message) })
            }
          }
          break
        case 'runJoin': {
          const run = this.learnRun(msg.spec)
          run?.onMemberJoined(from, msg.load)
          break
        }
        case 'brokerClaim':
          this.election.onClaim(from, msg.epoch, now)
          this.onViewChanged()
          break
        case 'brokerAck': {
          const reported = new Map(msg.consts.map(c => [c.run, c.highest]))
          this.election.onAck(from, msg.epoch, reported)
          this.onViewChanged()
          break
        }
        case 'statusRequest':
          this.mesh.send(from, { t: 'status', view: this.status(), ...(msg.tasksAfter !== undefined ? { tasks: this.taskLog.after(msg.tasksAfter) } : {}) })
          break
        case 'runRefused': {
          const run = this.runs.get(msg.run)
          if (run?.spec?.origin === this.self.id) this.init.onRunRefused?.(run.spec, this.peerName(from), msg.error)
          break
        }
        default:
          log('dropping %s from %s: it belongs to a run', msg.t, from)
      }
    }
  }

  private runMessages (from: PeerId, runId: string, messages: WireMessage[]): void {
    let run = this.runs.get(runId)
    if (run == null && messages.every(m => m.t === 'setConst' || m.t === 'fetchConsts')) {
      // The broker may hear of a run's constants before its spec reaches it: keep them anyway.
      if (this.runs.size < MAX_RUNS_PER_PEER) {
        run = new RunSpace(runId, undefined, this)
        this.runs.set(runId, run)
      }
    }
    if (run == null) {
      log('dropping %d message(s) of unknown run %s from %s', messages.length, runId, from)
      return
    }
    run.onMessages(from, messages)
  }

  private onHello (from: PeerId, info: PeerInfo, load: number, now: number): void {
    if (info.id !== from) {
      log.error('peer %s introduced itself as %s: ignored', from, info.id)
      return
    }
    const known = this.peerInfo.has(from)
    this.peerInfo.set(from, info)
    this.election.onPeerSeen(info, load, now)
    const waiters = this.introductionWaiters.get(from)
    this.introductionWaiters.delete(from)
    for (const wake of waiters ?? []) wake()
    if (known) return
    log('peer %s (%s) joined with load %d', info.name, from, load)
    // Tell the newcomer about everyone else it should link to (it may know only its bootstrap).
    const others = [...this.peerInfo.values()].filter(p => p.id !== from)
    if (others.length > 0) this.mesh.send(from, { t: 'peers', peers: others })
    this.onViewChanged()
  }

  private onGossip (topic: string, data: Uint8Array, _from: PeerId): void {
    let decoded: any
    try {
      decoded = decode(data)
    } catch (err) {
      log.error('undecodable gossip on %s: %s', topic, (err as Error).message)
      return
    }
    if (topic === MEMBERSHIP_TOPIC) {
      const hb = decoded as Heartbeat
      if (hb?.peer?.id == null || hb.peer.id === this.self.id || !this.mesh.isLinked(hb.peer.id)) return
      this.election.onPeerSeen(hb.peer, hb.load, Date.now(), hb.epoch)
      if (isPeerFigures(hb.figures)) this.recordFigures(hb.peer.id, hb.figures, Date.now())
      this.onViewChanged()
      return
    }
    for (const run of this.runs.values()) if (run.onConstGossip(topic, decoded)) return
  }

  private onHeartbeatTimer (): void {
    const now = Date.now()
    const hb: Heartbeat = { peer: this.self, load: this.load, epoch: this.election.epoch, figures: this.ownFigures(now) }
    this.recordFigures(this.self.id, hb.figures, now)
    this.mesh.publish(MEMBERSHIP_TOPIC, encode(hb))
    // Directly linked peers count as alive: gossip may not reach them before its mesh forms.
    for (const peer of this.mesh.connectedPeers) {
      const info = this.peerInfo.get(peer)
      if (info != null) this.election.onPeerSeen(info, 0, now)
    }
    for (const expired of this.election.onTick(now)) this.heard.delete(expired)
    this.onViewChanged()
    for (const run of this.runs.values()) run.onHeartbeat()
  }

  /**
   * After any change of the view: report a new broker, send the election's claims and
   * acknowledgements, and when this peer starts acting as broker, have each run catch up with the
   * constants its acknowledging peers hold before it numbers new ones.
   */
  private onViewChanged (): void {
    const broker = this.election.broker.id
    if (broker !== this.lastBroker) {
      log('broker is now %s (epoch %d)', this.election.broker.name, this.election.epoch)
      this.lastBroker = broker
      for (const run of this.runs.values()) run.onBrokerSeen(broker)
    }
    const acks = this.election.takeAcks()
    if (acks.length > 0) {
      const consts = this.liveRuns().map(r => ({ run: r.id, highest: r.consts.highest }))
      for (const ack of acks) this.mesh.send(ack.to, { t: 'brokerAck', epoch: ack.epoch, consts })
    }
    const claim = this.election.takeClaim()
    if (claim !== undefined) for (const peer of this.mesh.connectedPeers) this.mesh.send(peer, { t: 'brokerClaim', epoch: claim })
    const acting = this.election.isBroker
    if (acting && !this.wasActing) {
      log('acting as broker (epoch %d)', this.election.claimedEpoch)
      for (const run of this.runs.values()) {
        let highest = 0
        let from: PeerId | undefined
        for (const [peer, report] of this.election.claimReports) {
          const theirs = (report as Map<string, number> | undefined)?.get(run.id) ?? 0
          if (theirs > highest) { highest = theirs; from = peer }
        }
        run.onActingBroker(highest, from)
      }
    }
    this.wasActing = acting
  }

}
