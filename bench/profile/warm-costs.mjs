// What a task costs the origin once its code is warm (JIT done, heap grown), without a thief:
//   scoop-node -n 1 bench/profile/warm-costs.mjs [rounds]
// Each round runs a flood of 20 000 tasks (futures.submit in a loop, then awaited) and a
// depth-13 tree (16 383 tasks, each awaiting a map of its two children); prints one JSON line
// of medians over the rounds after the first three, in µs per task: the submit loop alone, the
// whole flood, the tree's wall time and the CPU time of the whole process (host thread
// included). Cold runs (the bench's) are dominated by the JIT; these show the per-task code.
import { futures, scoop } from 'scoop-node'
export { identity } from '../scripts/tasks.mjs'
import { identity } from '../scripts/tasks.mjs'
export { subtree } from '../scripts/mesh-tasks.mjs'
import { subtree } from '../scripts/mesh-tasks.mjs'

const FLOOD = 20_000
const TREE_DEPTH = 13
const median = xs => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const cpuUs = () => { const c = process.cpuUsage(); return c.user + c.system }

if (scoop.isOrigin) {
  const rounds = Number(process.argv[2] ?? 12)
  const warmFrom = 3
  if (!(rounds > warmFrom)) throw new Error(`warm-costs.mjs: give more than ${warmFrom} rounds`)
  const figures = { submitUs: [], floodUs: [], treeUs: [], treeCpuUs: [] }
  for (let round = 0; round < rounds; round++) {
    const t0 = performance.now()
    const fs = []
    for (let i = 0; i < FLOOD; i++) fs.push(futures.submit(identity, i))
    const t1 = performance.now()
    let sum = 0
    for (const f of fs) sum += await f
    const t2 = performance.now()
    if (sum !== FLOOD * (FLOOD - 1) / 2) throw new Error(`wrong flood sum ${sum}`)
    const c3 = cpuUs()
    const tasks = await futures.submit(subtree, TREE_DEPTH)
    const t4 = performance.now()
    if (round < warmFrom) continue
    figures.submitUs.push((t1 - t0) * 1000 / FLOOD)
    figures.floodUs.push((t2 - t0) * 1000 / FLOOD)
    figures.treeUs.push((t4 - t2) * 1000 / tasks)
    figures.treeCpuUs.push((cpuUs() - c3) / tasks)
  }
  console.log(JSON.stringify(Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, Math.round(median(v) * 100) / 100]))))
}
