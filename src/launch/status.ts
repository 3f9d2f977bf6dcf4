// `scoop-node status <multiaddr>`: asks one peer of a live mesh for its view (peers with their
// address, load and throughput, the broker, the epoch, the runs under way) and prints it as
// a table or as JSON. The asking node links to the peer but never joins the mesh.

import { MeshNode } from '../mesh/node.js'
import type { MeshStatus, PeerFigures, PeerId, TaskEvent, WireMessage } from '../core/wire.js'

/**
 * A link to one peer of a live mesh, to ask for its view as often as needed (status once, the
 * dashboard every second), and, for the dashboard, links to every peer of that view to follow the
 * tasks each one owned as they finish. It never joins the mesh: it sends no hello, so no peer
 * counts it.
 */
export class StatusClient {
  private waiting: Array<(view: MeshStatus) => void> = []
  private lastView: MeshStatus | undefined
  /** Per peer, the number of the last finished task it told us of (see TaskLog). */
  private readonly taskCursors = new Map<PeerId, number>()
  private taskListener: ((event: TaskEvent) => void) | undefined
  private followTimer: NodeJS.Timeout | undefined

  private constructor (private readonly node: MeshNode, private readonly peer: PeerId, readonly address: string) {}

  static async connect (address: string, swarmKey: Uint8Array | undefined, timeoutMs: number): Promise<StatusClient> {
    let client: StatusClient | undefined
    // A few messages a second at most: not worth a direct socket (mesh/direct-link.ts).
    const node = await MeshNode.create({ swarmKey, direct: false }, {
      onPeerConnected: () => {},
      onPeerDisconnected: () => {},
      onGossip: () => {},
      onMessages: (from, run, messages) => {
        for (const msg of messages) if (run === '' && msg.t === 'status') client?.onStatus(from, msg)
      }
    })
    try {
      const peer = await node.dial(address, { signal: AbortSignal.timeout(timeoutMs) })
      client = new StatusClient(node, peer, address)
      return client
    } catch (err) {
      await node.stop()
      throw new Error(`could not reach ${address}: ${(err as Error).message}${swarmKey == null ? ' (a mesh with a swarm key needs --key)' : ''}`)
    }
  }

  /** The peer's view now; redials if the link dropped (the peer may have been restarted). */
  async status (timeoutMs = 5000): Promise<MeshStatus> {
    if (!this.node.isLinked(this.peer)) await this.node.dial(this.address, { signal: AbortSignal.timeout(timeoutMs) })
    let timer: NodeJS.Timeout | undefined
    try {
      return await new Promise<MeshStatus>((resolve, reject) => {
        this.waiting.push(resolve)
        this.node.send(this.peer, { t: 'statusRequest' })
        timer = setTimeout(() => { reject(new Error(`${this.address} did not answer within ${timeoutMs} ms`)) }, timeoutMs)
      })
    } finally {
      clearTimeout(timer)
    }
  }

  /** Every second, asks each peer of the last view for the tasks it owned that finished since. */
  followTasks (listener: (event: TaskEvent) => void): void {
    this.taskListener = listener
    this.followTimer ??= setInterval(() => { this.askForTasks() }, TASK_POLL_MS)
    this.followTimer.unref()
  }

  async close (): Promise<void> {
    clearInterval(this.followTimer)
    await this.node.stop()
  }

  private askForTasks (): void {
    for (const p of this.lastView?.peers ?? []) {
      const ask = (): void => { this.node.send(p.id, { t: 'statusRequest', tasksAfter: this.taskCursors.get(p.id) ?? 0 }) }
      if (this.node.isLinked(p.id)) ask()
      else if (p.addrs.length > 0) this.node.dialPeer(p.id, p.addrs).then(ask, () => { /* not reachable from here: its tasks are not shown */ })
    }
  }

  private onStatus (from: PeerId, msg: Extract<WireMessage, { t: 'status' }>): void {
    if (msg.tasks !== undefined) {
      this.taskCursors.set(from, msg.tasks.last)
      for (const event of msg.tasks.events) this.taskListener?.(event)
    }
    if (from !== this.peer) return
    this.lastView = msg.view
    const waiting = this.waiting
    this.waiting = []
    for (const resolve of waiting) resolve(msg.view)
  }
}

/** How often a dashboard of a live mesh asks its peers for their finished tasks. */
const TASK_POLL_MS = 1000

/** Dials `address` (with its /p2p/ id), asks for its view, and stops. */
export async function queryStatus (address: string, swarmKey: Uint8Array | undefined, timeoutMs: number): Promise<MeshStatus> {
  const client = await StatusClient.connect(address, swarmKey, timeoutMs)
  try {
    return await client.status(timeoutMs)
  } finally {
    await client.close()
  }
}

const duration = (ms: number): string => {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`
}

function table (rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map(r => r[c].length)))
  return rows.map(r => r.map((cell, c) => c === r.length - 1 ? cell : cell.padEnd(widths[c])).join('  ')).join('\n')
}

/** The view as a human reads it: a summary line, a table of peers, the runs. */
export function formatStatus (view: MeshStatus, now: number): string {
  const broker = view.peers.find(p => p.id === view.broker)
  const rate = view.peers.reduce((sum, p) => sum + p.rate, 0)
  const lines = [
    `${view.peers.length} peer(s) · broker ${broker?.name ?? view.broker} (epoch ${view.epoch}) · ${view.runs.length} run(s) · ${rate.toFixed(1)} tasks/s`,
    '',
    table([
      ['PEER', 'QUEUED', 'RUNNING', 'DONE', 'TASKS/S', 'GIVEN', 'TAKEN', 'CPU', 'RSS', 'UP', 'ADDRESS'],
      ...[...view.peers].sort((a, b) => a.startedAt - b.startedAt).map(p => [
        `${p.name}${p.id === view.broker ? ' (broker)' : ''}${p.id === view.self ? ' *' : ''}`,
        String(p.load), String(p.running), String(p.done), p.rate.toFixed(1), String(p.given), String(p.taken),
        `${Math.round(p.cpu)}%`, `${p.rssMb} MB`, duration(now - p.startedAt), p.addrs[0] ?? ''
      ])
    ])
  ]
  if (view.runs.length > 0) {
    // Each run's tasks, summed over the peers' last heartbeats.
    const perRun = (id: string, pick: (r: PeerFigures['runs'][number]) => number): number =>
      view.peers.reduce((total, p) => total + p.runs.filter(r => r.run === id).reduce((sum, r) => sum + pick(r), 0), 0)
    lines.push('', table([
      ['RUN', 'ORIGIN', 'PEERS', 'DONE', 'RUNNING', 'QUEUED', 'SCRIPT'],
      ...view.runs.map(r => [r.id, r.origin, String(r.members), String(perRun(r.id, x => x.done)), String(perRun(r.id, x => x.running)), String(perRun(r.id, x => x.queued)), r.script])
    ]))
  }
  lines.push('', '* the peer that answered. Figures come with heartbeats (every second): tasks queued, running and done;',
    'given: taken from it by thieves; taken: stolen by it; CPU: % of one core')
  return lines.join('\n')
}
