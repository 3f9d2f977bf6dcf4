// The embedded default: a script run without the launcher starts a local mesh on its first
// futures call (one peer per core, the script's process included) and tears it down at exit.

import { MessageChannel, Worker, isMainThread } from 'node:worker_threads'
import { availableParallelism } from 'node:os'
import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { ExecutorRuntime } from '../runtime/executor.js'
import { infoBeforeMesh } from '../runtime/thread-messages.js'
import { threadContext, importExports } from '../runtime/context.js'
import { MeshError, InvalidArgumentError } from '../errors.js'
import { EMBEDDED_HOST_THREAD_ENTRY } from './entries.js'
import type { OriginOptions } from './origin.js'

/** Peers of an embedded mesh: SCOOP_WORKERS if set, else one per core; the script's process counts as one. */
export function embeddedSize (): number {
  const env = process.env.SCOOP_WORKERS
  if (env === undefined || env === '') return availableParallelism()
  const n = Number(env)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`SCOOP_WORKERS must be a positive integer, got '${env}'`)
  return n
}

async function startEmbedded (): Promise<ExecutorRuntime> {
  const script = process.argv[1]
  if (!isMainThread || script == null) {
    throw new MeshError('scoop-node: futures can be used without the launcher only from a script run as `node script.js`')
  }
  const scriptPath = realpathSync(script)
  const moduleUrl = pathToFileURL(scriptPath).href
  const { port1, port2 } = new MessageChannel()
  const options: OriginOptions = { workers: embeddedSize() - 1, script: scriptPath, workDir: process.cwd(), argv: process.argv.slice(2) }
  const thread = new Worker(EMBEDDED_HOST_THREAD_ENTRY, {
    workerData: { ...options, port: port2 },
    transferList: [port2]
  })
  thread.unref()
  thread.on('error', err => { process.stderr.write(`scoop-node: the embedded mesh failed: ${err.stack ?? String(err)}\n`) })
  // The embedded origin runs tasks too: its first ones run here while the mesh starts.
  const rt = new ExecutorRuntime(port1, true, moduleUrl, infoBeforeMesh(), true)
  rt.moduleLoaded(await importExports(moduleUrl))
  return rt
}

threadContext().startEmbedded ??= startEmbedded
