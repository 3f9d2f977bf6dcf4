// The simulator's experiments and its report: broker election at start and after the broker is
// killed, a flat map and a nested tree on N virtual peers. Each experiment builds its own world
// from the seed, so one can be changed without reshuffling the others' random draws.

import type { NetworkConfig } from './network.js'
import { TCP_MIN_RTO_MS } from './network.js'
import { SeededRandom } from './random.js'
import { SimWorld, type VirtualPeer, type WorldConfig } from './world.js'
import { FlatMapFeeder, treeSpec, type Chunking } from './workloads.js'

export interface SimOptions {
  peers: number
  seed: number
  /** Items of the flat map. */
  tasks: number
  /** Mean executor time of one map item or tree leaf. */
  taskMs: number
  /** Item times are uniform in taskMs × [1 - spread, 1 + spread]. */
  taskSpread: number
  latencyMs: number
  jitterMs: number
  loss: number
  bandwidthMbps: number
  treeDepth: number
  killBrokerAtMs: number
  /** Extra delay before peers notice a dead peer's connections closed (0: the kernel resets them at once). */
  detectMs: number
  /** Peers of the election experiment start uniformly within this window. */
  startSpreadMs: number
  chunking: Chunking
  /** Kill one peer (neither origin nor broker) this long after the map, and the tree, starts; undefined: no churn. */
  killPeerAtMs?: number
  /** Experiments to run. */
  run: { election: boolean, map: boolean, tree: boolean }
  maxEvents?: number
}

export const defaultOptions: SimOptions = {
  peers: 500,
  seed: 1,
  tasks: 50_000,
  taskMs: 1,
  taskSpread: 0,
  latencyMs: 0.2,
  jitterMs: 0.1,
  loss: 0,
  bandwidthMbps: 1000,
  treeDepth: 12,
  killBrokerAtMs: 3000,
  detectMs: 0,
  startSpreadMs: 100,
  chunking: 'adaptive',
  run: { election: true, map: true, tree: true }
}

export interface ElectionReport {
  mode: 'host' | 'lease'
  /** When every peer, all started, first named the same live broker. */
  electedAtMs: number | null
  electedAfterLastStartMs: number | null
  killedBroker: string | null
  killedAtMs: number
  newBroker: string | null
  reelectedAfterMs: number | null
  reelectedAfterHeartbeats: number | null
  /** From the kill until the new broker acts (every peer of its view acknowledged its epoch). */
  actingAfterMs: number | null
  /** Epochs in which two different peers each acted as broker (a peer acting alone does not count). */
  conflictingEpochs: number
  heartbeatsSent: number
  heartbeatsDropped: number
  events: number
  truncated: boolean
}

export interface WorkloadReport {
  /** Scheduler tasks (map chunks, or tree nodes). */
  tasks: number
  /** Units of work: map items or tree leaves. */
  items: number
  completed: boolean
  makespanMs: number | null
  /** Total work divided by the number of peers. */
  idealMs: number
  busyFraction: number | null
  /**
   * Where the idle time goes, as fractions of peers × makespan (with busyFraction they add up to
   * 1): before a peer's first task (ramp-up), between its tasks, after its last task (tail).
   */
  idle: { ramp: number, gaps: number, tail: number } | null
  /** When the last peer began its first task, from the start. */
  allBusyAfterMs: number | null
  messages: number
  messagesPerItem: number
  messagesPerTask: number
  messagesByKind: Record<string, number>
  stolen: number
  requeued: number
  /** Results delivered to the owner for a task already resolved (must be 0: the core drops them). */
  duplicateResults: number
  /** Map only: chunk results that arrived at most once each and covered every item. */
  resolvedExactlyOnce: boolean
  killedPeer: string | null
  events: number
  truncated: boolean
}

export interface SimReport {
  options: SimOptions
  election: { host: ElectionReport, lease: ElectionReport } | null
  flatMap: WorkloadReport | null
  tree: WorkloadReport | null
}

function worldConfig (o: SimOptions, electionMode: 'host' | 'lease', label: number, election = true): WorldConfig {
  const network: NetworkConfig = { latencyMs: o.latencyMs, jitterMs: o.jitterMs, bandwidthMbps: o.bandwidthMbps, loss: o.loss }
  // Each experiment its own seed stream.
  return { peers: o.peers, seed: (o.seed * 7919 + label) >>> 0, network, detectMs: o.detectMs, electionMode, election, maxEvents: o.maxEvents }
}

export function runElection (o: SimOptions, mode: 'host' | 'lease'): ElectionReport {
  const world = new SimWorld(worldConfig(o, mode, mode === 'host' ? 1 : 2))
  const starts = SeededRandom.derive(o.seed, 101)
  let lastStart = 0
  for (let i = 0; i < o.peers; i++) {
    const at = i === 0 ? 0 : starts.next() * o.startSpreadMs
    lastStart = Math.max(lastStart, at)
    world.start(i, at)
  }
  let killed: VirtualPeer | undefined
  const killAt = Math.max(o.killBrokerAtMs, lastStart)
  world.kill(killAt, () => world.peer(world.agreedBroker ?? world.peers[0].election.broker.id), peer => { killed = peer })
  const limit = killAt + 20 * world.heartbeatMs
  // Until the new broker is agreed on and acts (its epoch acknowledged by its whole view).
  world.run(limit, () => killed !== undefined && world.agreedBroker !== undefined &&
    world.actingSince.some(a => a.time >= killAt && a.broker === world.agreedBroker))
  const first = world.agreements[0]
  const after = killed === undefined ? undefined : world.agreements.find(a => a.time >= killAt && a.broker !== killed?.id)
  const acting = after === undefined ? undefined : world.actingSince.find(a => a.time >= killAt && a.broker === after.broker)
  return {
    mode,
    electedAtMs: first?.time ?? null,
    electedAfterLastStartMs: first === undefined ? null : first.time - lastStart,
    killedBroker: killed?.id ?? null,
    killedAtMs: killAt,
    newBroker: after?.broker ?? null,
    reelectedAfterMs: after === undefined ? null : after.time - killAt,
    reelectedAfterHeartbeats: after === undefined ? null : (after.time - killAt) / world.heartbeatMs,
    actingAfterMs: acting === undefined ? null : acting.time - killAt,
    conflictingEpochs: world.conflictingEpochs,
    heartbeatsSent: world.heartbeatsSent,
    heartbeatsDropped: world.heartbeatsDropped,
    events: world.events,
    truncated: world.truncated
  }
}

/** A world whose peers all start at 0, run until every pair is linked. */
function linkedWorld (o: SimOptions, label: number): SimWorld {
  const world = new SimWorld(worldConfig(o, 'host', label, false))
  for (let i = 0; i < o.peers; i++) world.start(i, 0)
  const pairs = o.peers * (o.peers - 1)
  world.run(60_000, () => world.linksUp >= pairs)
  return world
}

function durations (o: SimOptions, label: number): () => number {
  const random = SeededRandom.derive(o.seed, label)
  return () => o.taskSpread > 0 ? o.taskMs * (1 + o.taskSpread * (2 * random.next() - 1)) : o.taskMs
}

interface Snapshot { messages: number, byKind: Map<string, number>, busyMs: number, stolen: number, requeued: number, events: number }

function snapshot (world: SimWorld): Snapshot {
  let stolen = 0
  let requeued = 0
  for (const p of world.peers) { stolen += p.scheduler.stats.stolen; requeued += p.scheduler.stats.requeued }
  return { messages: world.messageTotal, byKind: new Map(world.messages), busyMs: world.busyMs, stolen, requeued, events: world.events }
}

function idleBreakdown (world: SimWorld, start: number, end: number | undefined): Pick<WorkloadReport, 'idle' | 'allBusyAfterMs'> {
  if (end === undefined || end <= start) return { idle: null, allBusyAfterMs: null }
  let ramp = 0
  let tail = 0
  let busy = 0
  let allBusyAt = start
  for (const p of world.peers) {
    busy += p.busyMs
    const first = Math.min(p.firstBusyAt ?? end, end)
    ramp += first - start
    tail += end - Math.min(Math.max(p.lastBusyEnd ?? end, first), end)
    allBusyAt = Math.max(allBusyAt, first)
  }
  const total = world.peers.length * (end - start)
  return {
    idle: { ramp: ramp / total, gaps: Math.max(0, total - busy - ramp - tail) / total, tail: tail / total },
    allBusyAfterMs: allBusyAt - start
  }
}

function workloadReport (world: SimWorld, before: Snapshot, start: number, end: number | undefined, tasks: number, items: number, workMs: number): Omit<WorkloadReport, 'duplicateResults' | 'resolvedExactlyOnce' | 'killedPeer'> {
  const now = snapshot(world)
  const messages = now.messages - before.messages
  const byKind: Record<string, number> = {}
  for (const [kind, n] of [...now.byKind].sort((a, b) => a[0] < b[0] ? -1 : 1)) {
    const d = n - (before.byKind.get(kind) ?? 0)
    if (d > 0) byKind[kind] = d
  }
  const makespan = end === undefined ? null : end - start
  return {
    ...idleBreakdown(world, start, end),
    tasks,
    items,
    completed: end !== undefined,
    makespanMs: makespan,
    idealMs: workMs / world.peers.length,
    busyFraction: makespan === null || makespan <= 0 ? null : (now.busyMs - before.busyMs) / (world.peers.length * makespan),
    messages,
    messagesPerItem: messages / Math.max(1, items),
    messagesPerTask: messages / Math.max(1, tasks),
    messagesByKind: byKind,
    stolen: now.stolen - before.stolen,
    requeued: now.requeued - before.requeued,
    events: now.events - before.events,
    truncated: world.truncated
  }
}

/**
 * With o.killPeerAtMs, kills the last peer that long after `start`: never the origin, and not the
 * broker (the election ranks the lowest id first). `killed` names it once it is dead.
 */
function killPeerLater (world: SimWorld, o: SimOptions, start: number): { killed: string | null } {
  const churn: { killed: string | null } = { killed: null }
  if (o.killPeerAtMs !== undefined && o.peers > 2) world.kill(start + o.killPeerAtMs, o.peers - 1, peer => { churn.killed = peer.id })
  return churn
}

export function runFlatMap (o: SimOptions): WorkloadReport {
  const world = linkedWorld(o, 3)
  const origin = world.peers[0]
  const itemMs = durations(o, 201)
  let workMs = 0
  const feeder = new FlatMapFeeder(world, origin, o.tasks, () => { const ms = itemMs(); workMs += ms; return ms }, o.chunking)
  const resolvedSeqs = new Map<number, number>()
  world.onResolve = (peer, seq, ms) => {
    if (peer !== origin) return
    resolvedSeqs.set(seq, (resolvedSeqs.get(seq) ?? 0) + 1)
    feeder.onResolve(seq, ms)
  }
  const start = world.now
  const before = snapshot(world)
  const churn = killPeerLater(world, o, start)
  feeder.start()
  world.run(start + 3_600_000, () => feeder.done)
  let once = feeder.done
  for (const n of resolvedSeqs.values()) if (n !== 1) once = false
  return {
    ...workloadReport(world, before, start, feeder.finishedAt, feeder.chunks, o.tasks, workMs),
    duplicateResults: feeder.duplicates,
    resolvedExactlyOnce: once && feeder.consumed === o.tasks,
    killedPeer: churn.killed
  }
}

export function runTree (o: SimOptions): WorkloadReport {
  const world = linkedWorld(o, 4)
  const origin = world.peers[0]
  const leafMs = durations(o, 301)
  let workMs = 0
  const root = treeSpec(o.treeDepth, () => { const ms = leafMs(); workMs += ms; return ms })
  const start = world.now
  const before = snapshot(world)
  let rootSeq = -1
  let finishedAt: number | undefined
  let duplicates = 0
  world.onResolve = (peer, seq) => {
    if (peer !== origin || seq !== rootSeq) return
    if (finishedAt !== undefined) duplicates++
    finishedAt ??= world.now
  }
  const churn = killPeerLater(world, o, start)
  rootSeq = world.submit(origin, root)
  world.drain(origin)
  world.run(start + 3_600_000, () => finishedAt !== undefined)
  const leaves = 2 ** o.treeDepth
  return {
    ...workloadReport(world, before, start, finishedAt, 2 * leaves - 1, leaves, workMs),
    duplicateResults: duplicates,
    resolvedExactlyOnce: finishedAt !== undefined && duplicates === 0,
    killedPeer: churn.killed
  }
}

export function runSimulation (o: SimOptions): SimReport {
  return {
    options: o,
    election: o.run.election ? { host: runElection(o, 'host'), lease: runElection(o, 'lease') } : null,
    flatMap: o.run.map ? runFlatMap(o) : null,
    tree: o.run.tree ? runTree(o) : null
  }
}

// ---- the printed report ---------------------------------------------------------------------

const num = (v: number | null, digits = 2): string => v === null ? 'n/a' : v.toFixed(digits)
const pct = (v: number | null): string => v === null ? 'n/a' : `${(100 * v).toFixed(1)} %`

function table (rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map(r => r[c].length)))
  return rows.map(r => r.map((cell, c) => c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])).join('  ').trimEnd()).join('\n')
}

export function formatReport (r: SimReport): string {
  const o = r.options
  const lines: string[] = []
  lines.push(`scoop-node simulator: ${o.peers} peers, seed ${o.seed}`)
  lines.push(`network: latency ${o.latencyMs} ms + jitter ${o.jitterMs} ms, ${o.bandwidthMbps} Mbit/s per link, loss ${o.loss} ` +
    `(task streams retransmit after ${TCP_MIN_RTO_MS} ms, heartbeats are dropped); dead peers noticed after ${o.detectMs} ms + one trip`)
  if (r.election !== null) {
    const { host, lease } = r.election
    lines.push('')
    lines.push(`election (peers start within ${o.startSpreadMs} ms; broker killed at ${host.killedAtMs} ms)`)
    const row = (name: string, e: ElectionReport): string[] => [
      name, num(e.electedAfterLastStartMs, 3), e.killedBroker ?? 'n/a', e.newBroker ?? 'n/a',
      num(e.reelectedAfterMs, 3), num(e.reelectedAfterHeartbeats, 3), num(e.actingAfterMs, 3), String(e.conflictingEpochs)
    ]
    lines.push(table([
      ['mode', 'elected after last start (ms)', 'killed', 'new broker', 're-elected after (ms)', '(heartbeats)', 'acting after (ms)', 'epochs with 2 brokers'],
      row('connection close (PeerHost)', host),
      row('heartbeat lease only', lease)
    ]))
  }
  const workRows: string[][] = [['workload', 'tasks', 'items', 'makespan (ms)', 'ideal (ms)', 'busy workers', 'idle: ramp', 'gaps', 'tail', 'all busy after (ms)', 'msgs/item', 'msgs/task', 'stolen', 'requeued', 'exactly once']]
  const workRow = (name: string, w: WorkloadReport): string[] => [
    name, String(w.tasks), String(w.items), num(w.makespanMs), num(w.idealMs), pct(w.busyFraction),
    pct(w.idle?.ramp ?? null), pct(w.idle?.gaps ?? null), pct(w.idle?.tail ?? null), num(w.allBusyAfterMs),
    num(w.messagesPerItem), num(w.messagesPerTask), String(w.stolen), String(w.requeued), w.resolvedExactlyOnce ? 'yes' : 'NO'
  ]
  if (r.flatMap !== null) workRows.push(workRow(`flat map (${o.chunking} chunks)`, r.flatMap))
  if (r.tree !== null) workRows.push(workRow(`tree depth ${o.treeDepth}`, r.tree))
  if (workRows.length > 1) {
    lines.push('')
    lines.push(table(workRows))
    for (const [name, w] of [['flat map', r.flatMap], ['tree', r.tree]] as const) {
      if (w === null) continue
      lines.push(`${name} messages: ${Object.entries(w.messagesByKind).map(([k, n]) => `${k} ${n}`).join(', ')}` +
        (w.killedPeer !== null ? `; ${w.killedPeer} killed at +${o.killPeerAtMs} ms` : '') + (w.truncated ? '; STOPPED at the event bound' : ''))
    }
  }
  return lines.join('\n') + '\n'
}
