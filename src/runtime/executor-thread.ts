// Entry of an executor thread: the thread of a peer that imports the user's module and runs
// its tasks. On the origin it also runs the module's main part (scoop.isOrigin is true there).

import { workerData } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { ExecutorRuntime } from './executor.js'
import { threadContext, importExports } from './context.js'
import type { RuntimeInfo } from './thread-messages.js'
import { loadTypeScriptSupport } from './typescript.js'
import type { MessagePort } from 'node:worker_threads'

export interface ExecutorThreadData {
  port: MessagePort
  moduleUrl: string
  isOrigin: boolean
  info: RuntimeInfo
  /** The script's own arguments, as process.argv.slice(2) shows them. */
  argv: string[]
  /** Run the tasks it submits itself from the start (see ExecutorRuntime), before the host says so. */
  runsOwnTasks?: boolean
}

const data = workerData as ExecutorThreadData
const ctx = threadContext()
ctx.role = data.isOrigin ? 'origin' : 'worker'
const rt = new ExecutorRuntime(data.port, data.isOrigin, data.moduleUrl, data.info, data.runsOwnTasks)
ctx.runtime = rt
process.argv = [process.execPath, fileURLToPath(data.moduleUrl), ...data.argv]
await loadTypeScriptSupport(data.moduleUrl)
if (data.isOrigin) {
  rt.moduleLoaded(await importExports(data.moduleUrl))
  await import(data.moduleUrl)
} else {
  rt.moduleLoaded(await import(data.moduleUrl))
}
