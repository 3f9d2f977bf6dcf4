// A peer's host: the libp2p node, the scheduler, the constant replica and the broker
// election, driven by mesh events, executor messages and a clock. It never runs user code;
// that is the executor's job on another thread, reached through a MessagePort.

import type { MessagePort } from 'node:worker_threads'
import { logger } from '@libp2p/logger'
import { MeshNode } from '../mesh/node.js'
import { Scheduler, type SchedulerAction } from '../core/scheduler.js'
import { ConstStore } from '../core/constants.js'
import { BrokerElection } from '../core/election.js'
import { encode, decode } from '../core/codec.js'
import type { ConstEntry, PeerId, PeerInfo, WireMessage } from '../core/wire.js'
import { BatchedPort, type ExecutorToHost, type HostToExecutor, type RuntimeInfo } from './thread-messages.js'
import { serializeError } from './encoding.js'
import { TaskQuarantinedError } from '../errors.js'
import { CONST_FETCH_RETRY_MS, HEARTBEAT_INTERVAL_MS, HEARTBEAT_LEASE } from '../defaults.js'

const log = logger('scoop:host')

export interface PeerHostInit {
  /** The run this peer belongs to: gossip topics are per run. */
  runId: string
  workerName: string
  /** Multiaddrs of peers to join (with /p2p/ ids). */
  bootstrap?: string[]
  listen?: string[]
  /** The run's pre-shared swarm key (see MeshNodeInit.swarmKey). */
  swarmKey?: Uint8Array
  /** False: this peer only submits tasks (an origin whose main part must stay responsive). */
  runsTasks?: boolean
}

interface Heartbeat { peer: PeerInfo, load: number, epoch: number }

export class PeerHost {
  readonly scheduler: Scheduler
  readonly consts = new ConstStore()
  readonly election: BrokerElection
  readonly self: PeerInfo
  private executor: BatchedPort<HostToExecutor> | undefined
  /** Called once the executor has loaded the run's module (a worker joins the mesh only then). */
  onExecutorReady: (() => void) | undefined
  private readonly peerInfo = new Map<PeerId, PeerInfo>()
  /** setConst requests forwarded to the broker, by wire request id. */
  private readonly pendingSetConst = new Map<number, { req: number, entries: Array<{ name: string, data: Uint8Array }> }>()
  private nextWireReq = 1
  /** When the last fetch of missing constants was sent: one at a time, re-sent if unanswered. */
  private constFetchSentAt: number | undefined
  private heartbeat: NodeJS.Timeout | undefined
  private wakeup: NodeJS.Timeout | undefined
  private wakeupAt: number | undefined
  private lastInfo = ''
  /** Names of peers that left, for errors that mention them. */
  private readonly lostPeerNames = new Map<PeerId, string>()
  private stopped = false
  private readonly membershipTopic: string
  private readonly constTopic: string

  private constructor (readonly mesh: MeshNode, init: PeerHostInit, startedAt: number) {
    this.self = { id: mesh.peerId, name: init.workerName, addrs: mesh.multiaddrs, startedAt }
    this.scheduler = new Scheduler({ self: mesh.peerId, executorSlots: init.runsTasks === false ? 0 : undefined })
    this.election = new BrokerElection(this.self, HEARTBEAT_INTERVAL_MS * HEARTBEAT_LEASE)
    this.membershipTopic = `/scoop/${init.runId}/membership/1`
    this.constTopic = `/scoop/${init.runId}/const/1`
  }

  static async start (init: PeerHostInit): Promise<PeerHost> {
    const startedAt = Date.now()
    let host: PeerHost | undefined
    const mesh = await MeshNode.create({ listen: init.listen, swarmKey: init.swarmKey }, {
      onPeerConnected: peer => { host?.onPeerConnected(peer) },
      onPeerDisconnected: peer => { host?.onPeerDisconnected(peer) },
      onMessages: (from, messages) => { host?.onMessages(from, messages) },
      onGossip: (topic, data, from) => { host?.onGossip(topic, data, from) }
    })
    host = new PeerHost(mesh, init, startedAt)
    mesh.subscribe(host.membershipTopic)
    mesh.subscribe(host.constTopic)
    host.heartbeat = setInterval(() => { host?.onHeartbeatTimer() }, HEARTBEAT_INTERVAL_MS)
    host.heartbeat.unref()
    await Promise.all((init.bootstrap ?? []).map(async addr => { await host?.join(addr) }))
    return host
  }

  /** Connects the executor thread; messages from it are processed from now on. */
  attachExecutor (port: MessagePort): void {
    this.executor = new BatchedPort(port)
    port.on('message', (batch: ExecutorToHost[]) => { this.onExecutorBatch(batch) })
    this.publishInfo(true)
  }

  info (): RuntimeInfo {
    const broker = this.election.broker
    return {
      peerId: this.self.id,
      multiaddrs: this.self.addrs,
      workerName: this.self.name,
      size: this.election.size,
      brokerName: broker.name,
      brokerAddress: broker.addrs[0] ?? ''
    }
  }

  async join (address: string): Promise<void> {
    try {
      await this.mesh.dial(address, { signal: AbortSignal.timeout(10_000) })
    } catch (err) {
      log.error('could not join %s: %s', address, (err as Error).message)
      throw new Error(`could not reach peer ${address}: ${(err as Error).message}`)
    }
  }

  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    clearInterval(this.heartbeat)
    clearTimeout(this.wakeup)
    await this.mesh.stop()
  }

  // ---- executor -----------------------------------------------------------------------------

  private onExecutorBatch (batch: ExecutorToHost[]): void {
    const now = Date.now()
    for (const msg of batch) {
      switch (msg.k) {
        case 'submit':
          this.scheduler.submit({
            owner: this.self.id, seq: msg.seq, fn: msg.fn, payload: msg.payload, chunk: msg.chunk, constSeq: this.consts.highest
          }, now)
          break
        case 'cancel': this.scheduler.cancel(msg.seq, now); break
        case 'yield': this.scheduler.onExecutorYield(msg.owner, msg.seq, now); break
        case 'result': this.scheduler.onExecutorResult(msg.owner, msg.seq, msg.ok, msg.data, msg.ms, now); break
        case 'setConst': this.setConst(msg.req, msg.entries); break
        case 'shutdown': void this.stop(); break
        case 'ready': this.onExecutorReady?.(); break
      }
    }
    this.runActions()
  }

  private setConst (req: number, entries: Array<{ name: string, data: Uint8Array }>): void {
    if (this.election.isBroker) {
      const outcome = this.defineConsts(entries)
      this.executor?.post({ k: 'setConstReply', req, error: 'duplicate' in outcome ? `redefined:${outcome.duplicate}` : '' })
      return
    }
    const wireReq = this.nextWireReq++
    this.pendingSetConst.set(wireReq, { req, entries })
    this.mesh.send(this.election.broker.id, { t: 'setConst', req: wireReq, entries })
  }

  /** Broker side: number the constants, store them, spread them on the gossip topic. */
  private defineConsts (entries: Array<{ name: string, data: Uint8Array }>): { entries: ConstEntry[] } | { duplicate: string } {
    const outcome = this.consts.define(entries)
    if ('entries' in outcome) {
      this.mesh.publish(this.constTopic, encode(outcome.entries))
      this.onConstsAdded(outcome.entries)
    }
    return outcome
  }

  private onConstsAdded (entries: ConstEntry[]): void {
    if (entries.length > 0) this.executor?.post({ k: 'consts', entries: entries.map(e => ({ name: e.name, data: e.data })) })
    this.scheduler.onConstsKnown(this.consts.contiguous, Date.now())
  }

  private addConsts (entries: ConstEntry[]): void {
    const added = entries.filter(e => this.consts.add(e))
    this.onConstsAdded(added)
  }

  // ---- mesh ---------------------------------------------------------------------------------

  private onPeerConnected (peer: PeerId): void {
    this.mesh.send(peer, { t: 'hello', peer: this.self, load: this.scheduler.load })
  }

  private onPeerDisconnected (peer: PeerId): void {
    log('peer %s left', peer)
    const info = this.peerInfo.get(peer)
    if (info != null) this.lostPeerNames.set(peer, info.name)
    this.peerInfo.delete(peer)
    this.election.onPeerLeft(peer)
    this.scheduler.onPeerLeft(peer, Date.now())
    this.runActions()
    this.publishInfo()
  }

  private onMessages (from: PeerId, messages: WireMessage[]): void {
    const now = Date.now()
    for (const msg of messages) {
      switch (msg.t) {
        case 'hello': this.onHello(from, msg.peer, msg.load, now); break
        case 'peers':
          for (const p of msg.peers) {
            if (p.id !== this.self.id && !this.mesh.isLinked(p.id) && p.addrs.length > 0) {
              this.join(p.addrs[0]).catch(() => {})
            }
          }
          break
        case 'setConst': {
          const outcome = this.election.isBroker
            ? this.defineConsts(msg.entries)
            : { duplicate: '' }
          const error = 'duplicate' in outcome ? (outcome.duplicate === '' ? 'this peer is not the broker' : `redefined:${outcome.duplicate}`) : ''
          this.mesh.send(from, { t: 'setConstReply', req: msg.req, seqs: 'entries' in outcome ? outcome.entries.map(e => e.seq) : [], error })
          break
        }
        case 'setConstReply': {
          const pending = this.pendingSetConst.get(msg.req)
          if (pending === undefined) break
          this.pendingSetConst.delete(msg.req)
          if (msg.error === '' && msg.seqs.length === pending.entries.length) {
            // The broker numbered our constants: store them now, so our next tasks carry them.
            this.addConsts(pending.entries.map((e, k) => ({ seq: msg.seqs[k], name: e.name, data: e.data })))
          }
          this.executor?.post({ k: 'setConstReply', req: pending.req, error: msg.error })
          break
        }
        case 'fetchConsts': this.mesh.send(from, { t: 'consts', entries: this.consts.after(msg.after) }); break
        case 'consts':
          this.constFetchSentAt = undefined
          this.addConsts(msg.entries)
          break
        default:
          this.scheduler.onMessage(from, msg, now)
      }
    }
    this.runActions()
  }

  private fetchConsts (from: PeerId): void {
    const now = Date.now()
    if (from === this.self.id || (this.constFetchSentAt !== undefined && now - this.constFetchSentAt < CONST_FETCH_RETRY_MS)) return
    this.constFetchSentAt = now
    this.mesh.send(from, { t: 'fetchConsts', after: this.consts.contiguous })
  }

  private onHello (from: PeerId, info: PeerInfo, load: number, now: number): void {
    if (info.id !== from) {
      log.error('peer %s introduced itself as %s: ignored', from, info.id)
      return
    }
    const known = this.peerInfo.has(from)
    if (!known) log('peer %s (%s) joined with load %d', info.name, from, load)
    this.peerInfo.set(from, info)
    this.election.onPeerSeen(info, load, now)
    this.scheduler.onPeerJoined(from, load, now)
    if (known) return
    if (this.election.isBroker) {
      // Answer the joiner with everyone it should link to.
      const others = [...this.peerInfo.values()].filter(p => p.id !== from)
      if (others.length > 0) this.mesh.send(from, { t: 'peers', peers: others })
    }
    if (this.election.broker.id === from) this.fetchConsts(from)
    this.publishInfo()
  }

  private onGossip (topic: string, data: Uint8Array, _from: PeerId): void {
    let decoded: any
    try {
      decoded = decode(data)
    } catch (err) {
      log.error('undecodable gossip on %s: %s', topic, (err as Error).message)
      return
    }
    if (topic === this.constTopic && Array.isArray(decoded)) {
      this.addConsts(decoded.filter((e: any) => e != null && Number.isSafeInteger(e.seq) && typeof e.name === 'string' && e.data instanceof Uint8Array))
      this.runActions()
    } else if (topic === this.membershipTopic) {
      const hb = decoded as Heartbeat
      if (hb?.peer?.id == null || hb.peer.id === this.self.id || !this.mesh.isLinked(hb.peer.id)) return
      this.election.onPeerSeen(hb.peer, hb.load, Date.now(), hb.epoch)
      this.publishInfo()
    }
  }

  private onHeartbeatTimer (): void {
    const now = Date.now()
    const hb: Heartbeat = { peer: this.self, load: this.scheduler.load, epoch: this.election.epoch }
    this.mesh.publish(this.membershipTopic, encode(hb))
    // Directly linked peers count as alive: gossip may not reach them before its mesh forms.
    for (const peer of this.mesh.connectedPeers) {
      const info = this.peerInfo.get(peer)
      if (info != null) this.election.onPeerSeen(info, 0, now)
    }
    this.election.onTick(now)
    // A fetch of missing constants may have gone unanswered (its peer left): ask the broker again.
    if (this.scheduler.waitsForConsts) this.fetchConsts(this.election.broker.id)
    this.publishInfo()
  }

  // ---- actions ------------------------------------------------------------------------------

  private runActions (): void {
    for (const action of this.scheduler.takeActions()) {
      if (action.type === 'send') log.trace('send %s to %s', action.msg.t, action.to)
      this.perform(action)
    }
    // Re-arm the clock only when the scheduler's next deadline moved (this runs on every event).
    const at = this.scheduler.nextWakeup()
    if (at === this.wakeupAt) return
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
      case 'send': this.mesh.send(action.to, action.msg); break
      case 'execute': {
        const { owner, seq, fn, payload, chunk } = action.task
        this.executor?.post({ k: 'run', owner, seq, fn, payload, chunk })
        break
      }
      case 'resolve':
        this.executor?.post({ k: 'resolve', seq: action.seq, ok: action.ok, data: action.data, peer: this.peerInfo.get(action.peer)?.name ?? this.self.name, ms: action.ms })
        break
      case 'started': this.executor?.post({ k: 'started', seq: action.seq }); break
      case 'quarantined': {
        const name = this.lostPeerNames.get(action.lastPeer) ?? action.lastPeer
        const error = new TaskQuarantinedError(`the task was quarantined: ${action.losses} workers died while holding it (the last one: ${name}); it is not run again`)
        this.executor?.post({ k: 'resolve', seq: action.seq, ok: false, data: encode(serializeError(error, name)), peer: name, ms: 0 })
        break
      }
      case 'fetchConsts': this.fetchConsts(this.election.broker.id); break
    }
  }

  private publishInfo (force = false): void {
    const info = this.info()
    const key = JSON.stringify(info)
    if (!force && key === this.lastInfo) return
    this.lastInfo = key
    this.executor?.post({ k: 'info', info })
  }
}
