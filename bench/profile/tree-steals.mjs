// What a thief costs a nested tree of tiny tasks: `scoop-node -n N bench/profile/tree-steals.mjs [trees] [depth]`.
// Set BENCH_PEERS to N (default 2) so that it waits for every worker. Runs depth-11 trees one after another (12 printed one by one, from cold code to warm, then
// `trees` more together) and prints each one's rate and how many of its tasks ran on another
// worker than the origin; for the `trees` together, the CPU time of every thread of the run
// (/proc/<pid>/task/*/stat, 10 ms ticks): the host (main thread), V8's background thread and
// the executor of each process. Compare `-n 1` with `-n 2` (bench/profile/README.md).
import { readdirSync, readFileSync } from 'node:fs'
import { futures, scoop } from 'scoop-node'

/** A node of the tree: returns [tasks in its subtree, how many of them ran on another worker than `origin`]. */
export async function subtreeAway (depth, origin) {
  const away = scoop.workerName === origin ? 0 : 1
  if (depth === 0) return [1, away]
  const [a, b] = await futures.map(subtreeAway, [depth - 1, depth - 1], [origin, origin])
  return [1 + a[0] + b[0], away + a[1] + b[1]]
}
export function whoAmI () { return scoop.workerName }

/** CPU ms of every thread of this process and of the worker processes it started, by "process:thread id". */
function threadCpuMs () {
  const pids = [process.pid]
  for (const thread of readdirSync('/proc/self/task')) {
    pids.push(...readFileSync(`/proc/self/task/${thread}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number))
  }
  const cpu = {}
  for (const pid of pids) {
    for (const thread of readdirSync(`/proc/${pid}/task`)) {
      const fields = readFileSync(`/proc/${pid}/task/${thread}/stat`, 'utf8').split(') ')[1].split(' ')
      cpu[`${pid === process.pid ? 'origin' : `worker ${pid}`}:${thread}`] = (Number(fields[11]) + Number(fields[12])) * 10
    }
  }
  return cpu
}

if (scoop.isOrigin) {
  const trees = Number(process.argv[2] ?? 30)
  const depth = Number(process.argv[3] ?? 11)
  const deadline = Date.now() + 30_000
  const peers = Number(process.env.BENCH_PEERS ?? 2)
  while (scoop.size < peers && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 5))
  await futures.submit(whoAmI)
  const one = () => futures.submit(subtreeAway, depth, scoop.workerName).result()
  const rates = []
  for (let i = 0; i < 12; i++) {
    const start = performance.now()
    const [tasks, away] = await one()
    rates.push(`${Math.round(tasks / (performance.now() - start))}k/s (${away} away)`)
  }
  console.log(`${scoop.size} worker(s), trees of ${2 ** (depth + 1) - 1} tasks, one by one: ${rates.join(', ')}`)
  const before = threadCpuMs()
  const start = performance.now()
  let tasks = 0
  for (let i = 0; i < trees; i++) tasks += (await one())[0]
  const ms = performance.now() - start
  const after = threadCpuMs()
  const used = Object.entries(after).map(([thread, cpu]) => [thread, cpu - (before[thread] ?? 0)]).filter(([, cpu]) => cpu > 0)
  console.log(`${trees} more trees: ${Math.round(tasks / ms)}k tasks/s; CPU ms by thread: ${used.map(([t, c]) => `${t} ${c}`).join(', ')}; total ${used.reduce((s, [, c]) => s + c, 0)} in ${Math.round(ms)} ms`)
}
