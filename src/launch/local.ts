// Local worker processes: spawned with an IPC channel that carries their configuration and
// ends them when it closes, so no worker outlives its origin, even one killed with SIGKILL.

import { spawn, type ChildProcess } from 'node:child_process'
import { setPriority } from 'node:os'
import { logger } from '@libp2p/logger'
import { WORKER_PROCESS_ENTRY } from './entries.js'
import { WORKER_NODE_OPTIONS } from '../defaults.js'
import type { RunSpec } from '../core/wire.js'
import type { LogSettings } from './messages.js'

const log = logger('scoop:launch')

/** What a worker process needs to join a mesh; sent over IPC, never on the command line. */
export interface WorkerConfig {
  /** Multiaddrs of peers to join (the origin, or the first peer of a long-lived mesh). */
  bootstrap: string[]
  /** The run this worker is started for: it loads the run's module at once. Absent: a long-lived worker. */
  run?: RunSpec
  listen?: string[]
  /** Find the mesh's peers by mDNS too. */
  mdns?: boolean
  /** A long-lived worker leaves and exits with RECYCLE_EXIT_CODE after this many task items, or above this RSS (SCOOP users' --max-tasks-per-worker, --max-memory). */
  recycle?: { maxTasks?: number, maxMemoryMb?: number }
  /** The mesh's swarm key, as text: it travels over the IPC channel, never on a command line. */
  swarmKey?: string
  /** Where the worker's own messages go (as the launcher's). */
  log?: LogSettings
  /** The worker's peer identity, base64 (see MeshNodeInit.identity): the same peer id when it is restarted. */
  identity?: string
  /** Without an identity: make one and report it with 'up', so that a restart can reuse it. */
  reportIdentity?: boolean
}

export interface LocalWorkerOptions {
  /** Niceness of the worker processes (SCOOP's --nice). */
  nice?: number
  /** Called when a worker exits on its own (not when we stop it). */
  onUnexpectedExit?: (pid: number, code: number | null, signal: NodeJS.Signals | null) => void
  /** Called when a worker's peer is up, with the addresses it listens on (and its identity, if asked: see WorkerConfig.reportIdentity). */
  onUp?: (pid: number, addrs: string[], identity: string | undefined) => void
}

/** What a worker process tells its launcher over IPC. */
export interface WorkerReport { type: 'up', addrs: string[], identity?: string }

/** WORKER_NODE_OPTIONS but those the user's NODE_OPTIONS sets already (on a command line, ours would override theirs). */
export function workerNodeOptions (nodeOptions: string | undefined): string[] {
  const given = new Set((nodeOptions ?? '').split(/\s+/).map(option => option.split('=')[0]))
  return WORKER_NODE_OPTIONS.filter(option => !given.has(option.split('=')[0]))
}

export class LocalWorkers {
  private readonly children = new Set<ChildProcess>()
  private stopping = false

  constructor (private readonly options: LocalWorkerOptions = {}) {
    // A last resort when the process ends without stop(): the IPC channels close anyway.
    process.once('exit', () => { this.killAll() })
  }


  /** Starts `count` workers with this configuration; returns their pids. */
  spawn (count: number, config: WorkerConfig): number[] {
    const pids: number[] = []
    for (let i = 0; i < count; i++) {
      const child = spawn(process.execPath, [...workerNodeOptions(process.env.NODE_OPTIONS), WORKER_PROCESS_ENTRY], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: process.env
      })
      this.children.add(child)
      if (this.options.nice !== undefined && child.pid !== undefined) {
        try { setPriority(child.pid, this.options.nice) } catch (err) { log.error('cannot renice worker %d: %s', child.pid, (err as Error).message) }
      }
      child.on('error', err => { log.error('worker process failed to start: %s', err.message) })
      child.on('message', (msg: WorkerReport) => {
        if (msg?.type === 'up' && Array.isArray(msg.addrs)) this.options.onUp?.(child.pid ?? 0, msg.addrs, typeof msg.identity === 'string' ? msg.identity : undefined)
      })
      child.on('exit', (code, signal) => {
        this.children.delete(child)
        if (!this.stopping) this.options.onUnexpectedExit?.(child.pid ?? 0, code, signal)
      })
      child.send({ type: 'config', config })
      pids.push(child.pid ?? 0)
    }
    return pids
  }

  /** Resolves once every worker started here has exited, or after `withinMs`. */
  async exited (withinMs: number): Promise<void> {
    const waits = [...this.children].map(async child => { await new Promise(resolve => child.once('exit', resolve)) })
    let timer: NodeJS.Timeout | undefined
    await Promise.race([Promise.all(waits), new Promise(resolve => { timer = setTimeout(resolve, withinMs) })])
    clearTimeout(timer)
  }

  /** Ends every worker started here (by pid, nothing else). */
  killAll (): void {
    this.stopping = true
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    }
  }
}
