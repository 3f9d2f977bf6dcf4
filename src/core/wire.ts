// Wire message types exchanged between peers on the task protocol, and their validation.
// Every frame received from the network goes through `parseFrame` before any field is used:
// a peer is not trusted to send well-formed data.

export type PeerId = string

/** A function reference: `export:<name>` (an export of the run's module) or `builtin:<path>`. */
export type FunctionRef = string

/** A unit of work as it travels between peers. The payload is opaque to the scheduler. */
export interface Task {
  /** Peer that submitted the task and receives its result. */
  owner: PeerId
  /** Sequence number, unique per owner. */
  seq: number
  fn: FunctionRef
  /** cbor-encoded arguments: one argument list, or a list of them for a map chunk. */
  payload: Uint8Array
  /** Number of items for a map chunk, 0 for a single call. */
  chunk: number
  /** Highest shared-constant sequence number the owner knew at submission. */
  constSeq: number
  /**
   * Times the task has been given to a thief (counted by every giver, its owner included): the
   * owner orders the 'moved' notices of one task by it, since they come over different links.
   */
  hops?: number
}

/** Rough cbor size of a task in a message: field names and numbers, owner, function, arguments. */
export function taskWireBytes (task: Task): number {
  return 32 + task.owner.length + task.fn.length + task.payload.byteLength
}

export interface PeerInfo {
  id: PeerId
  name: string
  addrs: string[]
  startedAt: number
}

/**
 * A run: one origin's script and everything it submits. Peers keep each run's tasks, constants
 * and errors apart, so long-lived workers can serve many runs, one after another or at once.
 */
export interface RunSpec {
  /** Random id, unique per run; run-scoped messages and gossip topics carry it. */
  id: string
  /** The peer running the script's main part: the run ends when it leaves. */
  origin: PeerId
  /** The script as the origin named it: a worker imports `resolve(workDir, script)` from its own disk. */
  script: string
  /** The directory a relative `script` is resolved against (SCOOP's --path; the origin's cwd by default). */
  workDir: string
  /** The script's arguments (process.argv.slice(2) on every peer of the run). */
  argv: string[]
}

/** What a peer reports of its work with each heartbeat, for `scoop-node status`. */
export interface PeerFigures {
  /** Tasks it has run since it started, all runs together. */
  done: number
  /** Tasks its executors hold now (running or waiting for their children). */
  running: number
  /** Tasks thieves took from it, and tasks it stole, since it started. */
  given: number
  taken: number
  /** CPU time over the last heartbeat interval, in % of one core (all its threads). */
  cpu: number
  /** Resident memory, MB. */
  rssMb: number
  /** The same per run it takes part in. */
  runs: Array<{ run: string, done: number, running: number, queued: number }>
}

/** A peer as `scoop-node status` shows it. */
export interface PeerStatus extends PeerInfo, PeerFigures {
  /** Tasks queued on it, all runs together. */
  load: number
  /** Tasks per second it ran between its last two heartbeats. */
  rate: number
}

function isTaskEvent (v: any): v is TaskEvent {
  return v != null && isStr(v.run, 64) && isStr(v.fn, 1024) && isStr(v.peer, 256) && isInt(v.at) && isNum(v.ms) && isInt(v.items) &&
    typeof v.ok === 'boolean' && (v.error === undefined || (v.error != null && isStr(v.error.name, 1024) && isStr(v.error.message, 65536) && isStr(v.error.stack, 65536)))
}

export function isPeerFigures (v: any): v is PeerFigures {
  return v != null && isInt(v.done) && isInt(v.running) && isInt(v.given) && isInt(v.taken) && isNum(v.cpu) && isNum(v.rssMb) &&
    Array.isArray(v.runs) && v.runs.length <= 1024 &&
    v.runs.every((r: any) => r != null && isStr(r.run, 64) && isInt(r.done) && isInt(r.running) && isInt(r.queued))
}

/** A peer's view of its mesh, for `scoop-node status`. */
export interface MeshStatus {
  /** The peer that answered. */
  self: PeerId
  broker: PeerId
  epoch: number
  peers: PeerStatus[]
  runs: Array<{ id: string, origin: string, script: string, members: number }>
}

/** A task this peer owned has finished (for the dashboard's task stream and histograms). */
export interface TaskEvent {
  run: string
  fn: FunctionRef
  /** The worker that ran it. */
  peer: string
  /** When its result arrived here (ms since the epoch), and how long it ran there. */
  at: number
  ms: number
  /** Items of a map chunk, 1 for a single task. */
  items: number
  ok: boolean
  /** Its error (name, message, remote stack) when it failed. */
  error?: { name: string, message: string, stack: string }
}

/** One shared constant: a name defined once per pool, with its cbor-encoded value. */
export interface ConstEntry {
  seq: number
  name: string
  data: Uint8Array
  /** The setConst request that defined it (`<peer>#<request>`): a request sent again to a new broker is answered, not refused. */
  by?: string
}

export type WireMessage =
  | { t: 'hello', peer: PeerInfo, load: number }
  | { t: 'peers', peers: PeerInfo[] }
  /**
   * The messages after this one in the same frame belong to this run ('' = the mesh itself).
   * The task-stream framing inserts it; a frame starts in the mesh scope.
   */
  | { t: 'scope', run: string }
  /**
   * Link control, handled by the mesh layer (src/mesh/node.ts), never passed on: an offer of a
   * direct socket for this link's frames (src/mesh/direct-link.ts), and the sender's last frame
   * on the libp2p stream, after which it sends on that socket.
   */
  | { t: 'direct', port: number, id: Uint8Array, secret: Uint8Array }
  | { t: 'switch' }
  /** The sender takes part in this run (its executor has loaded the run's module). */
  | { t: 'runJoin', spec: RunSpec, load: number }
  /** The sender cannot take part in this run (told to the run's origin, which reports it). */
  | { t: 'runRefused', run: string, error: string }
  /** The sender's view names it broker: it claims this epoch, and acts once every peer of its view acknowledged. */
  | { t: 'brokerClaim', epoch: number }
  /** Acknowledges a claim, with the highest shared-constant sequence the sender holds per run. */
  | { t: 'brokerAck', epoch: number, consts: Array<{ run: string, highest: number }> }
  /**
   * Asks for the receiver's view of the mesh (`scoop-node status`); answered with `status`.
   * With `tasksAfter`, the answer also carries the tasks the peer owned that finished since (see TaskLog).
   */
  | { t: 'statusRequest', tasksAfter?: number }
  | { t: 'status', view: MeshStatus, tasks?: { last: number, events: TaskEvent[] } }
  | { t: 'load', n: number }
  /**
   * Asks for work. With `wait`, a peer with nothing to give keeps the request and answers when
   * work arrives. With `ahead`, the thief still runs a task and asks before it runs dry: it is
   * given half of two or more queued tasks, never a peer's last one (an idle thief needs that more).
   */
  | { t: 'steal', wait?: boolean, ahead?: boolean }
  /**
   * Work for a thief (the answer to `steal`, possibly empty). With `back`, tasks a thief hands
   * back to the peer that gave them: their owner is not one of the thief's peers yet.
   */
  | { t: 'tasks', tasks: Task[], load: number, back?: boolean }
  | { t: 'started', owner: PeerId, seqs: number[] }
  | { t: 'result', seq: number, ok: boolean, data: Uint8Array, ms: number }
  | { t: 'cancel', seq: number }
  /**
   * Tasks of the receiver's went to peer `to` at these hop counts (Task.hops). Sent by the giver,
   * and by the thief itself once it has them (then `to` is the sender): the owner counts a task
   * as lost with the giver too until the thief has said so.
   */
  | { t: 'moved', seqs: number[], to: PeerId, hops?: number[] }
  /** A leaving peer gives back these tasks of the receiver's, not started: the owner queues them again. */
  | { t: 'returned', seqs: number[] }
  | { t: 'setConst', req: number, entries: Array<{ name: string, data: Uint8Array }> }
  | { t: 'setConstReply', req: number, seqs: number[], error: string }
  | { t: 'fetchConsts', after: number }
  | { t: 'consts', entries: ConstEntry[] }

export type WireKind = WireMessage['t']

export class InvalidFrameError extends Error {
  override name = 'InvalidFrameError'
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0
const isStr = (v: unknown, max = 4096): v is string => typeof v === 'string' && v.length <= max
const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array
const isIntList = (v: unknown): v is number[] => Array.isArray(v) && v.every(isInt)

function isPeerInfo (v: any): v is PeerInfo {
  return v != null && isStr(v.id, 256) && isStr(v.name, 256) && isInt(v.startedAt) &&
    Array.isArray(v.addrs) && v.addrs.length <= 64 && v.addrs.every((a: unknown) => isStr(a, 1024))
}

function isTask (v: any): v is Task {
  return v != null && isStr(v.owner, 256) && isInt(v.seq) && isStr(v.fn, 1024) &&
    isBytes(v.payload) && isInt(v.chunk) && isInt(v.constSeq) && (v.hops === undefined || isInt(v.hops))
}

export function isConstEntry (v: any): v is ConstEntry {
  return v != null && isInt(v.seq) && isStr(v.name, 1024) && isBytes(v.data) && (v.by === undefined || isStr(v.by, 512))
}

function isRunSpec (v: any): v is RunSpec {
  return v != null && isStr(v.id, 64) && v.id !== '' && isStr(v.origin, 256) && isStr(v.script) && isStr(v.workDir) &&
    Array.isArray(v.argv) && v.argv.length <= 1024 && v.argv.every((a: unknown) => isStr(a))
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0

function isMeshStatus (v: any): v is MeshStatus {
  return v != null && isStr(v.self, 256) && isStr(v.broker, 256) && isInt(v.epoch) &&
    Array.isArray(v.peers) && v.peers.length <= 100_000 && v.peers.every((p: any) => isInt(p?.load) && isNum(p.rate) && isPeerFigures(p) && isPeerInfo(p)) &&
    Array.isArray(v.runs) && v.runs.length <= 1024 && v.runs.every((r: any) => r != null && isStr(r.id, 64) && isStr(r.origin, 256) && isStr(r.script) && isInt(r.members))
}

const validators: Record<WireKind, (m: any) => boolean> = {
  hello: m => isPeerInfo(m.peer) && isInt(m.load),
  peers: m => Array.isArray(m.peers) && m.peers.every(isPeerInfo),
  scope: m => isStr(m.run, 64),
  direct: m => isInt(m.port) && m.port > 0 && m.port < 65536 && isBytes(m.id) && m.id.byteLength === 16 && isBytes(m.secret) && m.secret.byteLength === 32,
  switch: () => true,
  runJoin: m => isRunSpec(m.spec) && isInt(m.load),
  runRefused: m => isStr(m.run, 64) && isStr(m.error, 16384),
  brokerClaim: m => isInt(m.epoch),
  brokerAck: m => isInt(m.epoch) && Array.isArray(m.consts) && m.consts.length <= 1024 &&
    m.consts.every((c: any) => c != null && isStr(c.run, 64) && isInt(c.highest)),
  statusRequest: m => m.tasksAfter === undefined || isInt(m.tasksAfter),
  status: m => isMeshStatus(m.view) && (m.tasks === undefined || (m.tasks != null && isInt(m.tasks.last) &&
    Array.isArray(m.tasks.events) && m.tasks.events.length <= 10_000 && m.tasks.events.every(isTaskEvent))),
  load: m => isInt(m.n),
  steal: m => (m.wait === undefined || typeof m.wait === 'boolean') && (m.ahead === undefined || typeof m.ahead === 'boolean'),
  tasks: m => Array.isArray(m.tasks) && m.tasks.every(isTask) && isInt(m.load) && (m.back === undefined || m.back === true),
  started: m => isStr(m.owner, 256) && isIntList(m.seqs),
  result: m => isInt(m.seq) && typeof m.ok === 'boolean' && isBytes(m.data) && typeof m.ms === 'number',
  cancel: m => isInt(m.seq),
  moved: m => isIntList(m.seqs) && isStr(m.to, 256) && (m.hops === undefined || (isIntList(m.hops) && m.hops.length === m.seqs.length)),
  returned: m => isIntList(m.seqs),
  setConst: m => isInt(m.req) && Array.isArray(m.entries) &&
    m.entries.every((e: any) => e != null && isStr(e.name, 1024) && isBytes(e.data)),
  setConstReply: m => isInt(m.req) && isIntList(m.seqs) && isStr(m.error),
  fetchConsts: m => isInt(m.after),
  consts: m => Array.isArray(m.entries) && m.entries.every(isConstEntry)
}

/** Checks a decoded frame: an array of known, well-typed messages. Throws InvalidFrameError. */
export function parseFrame (decoded: unknown): WireMessage[] {
  if (!Array.isArray(decoded)) throw new InvalidFrameError('frame is not a list of messages')
  for (const m of decoded) {
    const kind = (m as any)?.t
    const validate = typeof kind === 'string' && Object.hasOwn(validators, kind) ? validators[kind as WireKind] : undefined
    if (validate == null) throw new InvalidFrameError(`unknown message kind ${JSON.stringify(String(kind)).slice(0, 40)}`)
    if (!validate(m)) throw new InvalidFrameError(`malformed '${kind}' message`)
  }
  return decoded as WireMessage[]
}
