// The executor's own cost per task, alone: a flood of futures.submit(identity) run by an
// executor on this thread whose host never answers (it runs its own tasks itself), so no other
// thread or process takes part. What the flood target costs at the least on one core.
//   npm run build && node bench/profile/executor-flood.mjs [tasks, default 100000]
import { MessageChannel } from 'node:worker_threads'
import { pathToFileURL } from 'node:url'
import { ExecutorRuntime } from '../../dist/src/runtime/executor.js'
import { infoBeforeMesh } from '../../dist/src/runtime/thread-messages.js'
import { threadContext } from '../../dist/src/runtime/context.js'
import { futures } from '../../dist/src/index.js'

export function identity (x) { return x }

const count = Number(process.argv[2] ?? 100_000)
const { port1 } = new MessageChannel()
const rt = new ExecutorRuntime(port1, true, pathToFileURL(process.argv[1]).href, infoBeforeMesh(), true)
rt.moduleLoaded({ identity })
threadContext().runtime = rt

for (let round = 0; round < 5; round++) {
  const cpu = process.cpuUsage()
  const t = performance.now()
  const fs = []
  for (let i = 0; i < count; i++) fs.push(futures.submit(identity, i))
  let sum = 0
  for (const f of fs) sum += await f
  const ms = performance.now() - t
  const used = process.cpuUsage(cpu)
  if (sum !== count * (count - 1) / 2) throw new Error('wrong sum')
  console.log(`round ${round}: ${Math.round(count / ms * 1000).toLocaleString('en')} tasks/s, ${((used.user + used.system) / count).toFixed(1)} µs CPU per task`)
}
port1.close()
