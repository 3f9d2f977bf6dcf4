// Starting a run's executor thread: on a worker peer, the thread that imports the run's module
// from this host's disk (SCOOP's --path rule) and runs its tasks; on the origin, the thread that
// runs the script.

import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads'
import { existsSync, realpathSync } from 'node:fs'
import { hostname } from 'node:os'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { RunSpec } from '../core/wire.js'
import type { RunExecutor } from '../runtime/run-space.js'
import { infoBeforeMesh, type RuntimeInfo } from '../runtime/thread-messages.js'
import type { ExecutorThreadData } from '../runtime/executor-thread.js'
import { EXECUTOR_THREAD_ENTRY } from './entries.js'
import { EXECUTOR_YOUNG_GENERATION_MB } from '../defaults.js'

export interface OriginExecutorInit {
  /** The executor's end of the channel to the origin's host (which may not be up yet). */
  port: MessagePort
  moduleUrl: string
  /** The script's own arguments. */
  argv: string[]
  /** The script's thread runs the tasks it submits itself from the start (not with --no-origin-tasks). */
  runsOwnTasks: boolean
}

/** Starts the thread that runs the script: at once, before the origin's libp2p node is up. */
export function startOriginExecutor (init: OriginExecutorInit): Worker {
  const workerData: ExecutorThreadData = { port: init.port, moduleUrl: init.moduleUrl, isOrigin: true, info: infoBeforeMesh(), argv: init.argv, runsOwnTasks: init.runsOwnTasks }
  return new Worker(EXECUTOR_THREAD_ENTRY, {
    workerData,
    transferList: [init.port],
    resourceLimits: { maxYoungGenerationSizeMb: EXECUTOR_YOUNG_GENERATION_MB }
  })
}

export interface WorkerExecutorEvents {
  /** The module could not be loaded: this peer stays out of the run. */
  failed: (error: string) => void
  /** The thread ended on its own after loading (a task called process.exit, threw where nothing catches, or ran out of memory). */
  crashed: (code: number, reason: string) => void
}

export interface ExecutorLimits {
  /** Heap limit of the executor thread: past it the thread is stopped (out of memory), not the whole machine. */
  maxHeapMb?: number
}

/** Where this host finds the run's script: `script` resolved against the run's working directory. */
function scriptPathOf (spec: RunSpec): string {
  return resolve(spec.workDir, spec.script)
}

export function startWorkerExecutor (spec: RunSpec, info: RuntimeInfo, events: WorkerExecutorEvents, limits: ExecutorLimits = {}): RunExecutor {
  const path = scriptPathOf(spec)
  if (!existsSync(path)) {
    throw new Error(`cannot find the script ${path} on ${hostname()} (give the directory that holds it on every host with --path)`)
  }
  const { port1, port2 } = new MessageChannel()
  const workerData: ExecutorThreadData = { port: port2, moduleUrl: pathToFileURL(realpathSync(path)).href, isOrigin: false, info, argv: spec.argv }
  const thread = new Worker(EXECUTOR_THREAD_ENTRY, {
    workerData,
    transferList: [port2],
    resourceLimits: { maxYoungGenerationSizeMb: EXECUTOR_YOUNG_GENERATION_MB, ...(limits.maxHeapMb !== undefined ? { maxOldGenerationSizeMb: limits.maxHeapMb } : {}) }
  })
  let loaded = false
  let terminated = false
  let outOfMemory = false
  port1.once('message', () => { loaded = true })
  thread.on('error', err => {
    if ((err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY') outOfMemory = true
    else if (!loaded) events.failed(`cannot load ${path}: ${err.stack ?? String(err)}`)
    else process.stderr.write(`scoop-node worker ${info.workerName}: ${err.stack ?? String(err)}\n`)
  })
  thread.on('exit', code => {
    if (terminated) return
    const reason = outOfMemory ? `ran out of memory${limits.maxHeapMb !== undefined ? ` (its heap limit is ${limits.maxHeapMb} MB)` : ''}` : `exited with code ${code}`
    if (!loaded) events.failed(`cannot load ${path}: its thread ${reason}`)
    else events.crashed(code, reason)
  })
  return {
    port: port1,
    terminate: () => {
      terminated = true
      port1.close()
      void thread.terminate()
    }
  }
}
