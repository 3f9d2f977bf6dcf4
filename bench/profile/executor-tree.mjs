// The executor's own cost per task of the nested tree (each task maps over its two children),
// alone: an executor on this thread whose host never answers runs the whole tree itself.
//   npm run build && node bench/profile/executor-tree.mjs [depth, default 11] [rounds, default 8]
import { MessageChannel } from 'node:worker_threads'
import { pathToFileURL } from 'node:url'
import { ExecutorRuntime } from '../../dist/src/runtime/executor.js'
import { infoBeforeMesh } from '../../dist/src/runtime/thread-messages.js'
import { threadContext } from '../../dist/src/runtime/context.js'
import { futures } from '../../dist/src/index.js'

export async function subtree (depth) {
  if (depth === 0) return 1
  const [a, b] = await futures.map(subtree, [depth - 1, depth - 1])
  return 1 + a + b
}

const depth = Number(process.argv[2] ?? 11)
const rounds = Number(process.argv[3] ?? 8)
const { port1 } = new MessageChannel()
const rt = new ExecutorRuntime(port1, true, pathToFileURL(process.argv[1]).href, infoBeforeMesh(), true)
rt.moduleLoaded({ subtree })
threadContext().runtime = rt

for (let round = 0; round < rounds; round++) {
  const cpu = process.cpuUsage()
  const t = performance.now()
  const tasks = await futures.submit(subtree, depth)
  const ms = performance.now() - t
  const used = process.cpuUsage(cpu)
  console.log(`round ${round}: ${tasks} tasks, ${Math.round(tasks / ms * 1000).toLocaleString('en')} tasks/s, ${((used.user + used.system) / tasks).toFixed(1)} µs CPU per task`)
}
port1.close()
