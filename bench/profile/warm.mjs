// A depth-11 tree (4 095 tasks) five times in one run: the first on cold code, the others warm.
//   scoop-node -n 2 bench/profile/warm.mjs [depth]
import { futures, scoop } from 'scoop-node'
export { subtree } from './workloads.mjs'
import { subtree } from './workloads.mjs'

if (scoop.isOrigin) {
  while (scoop.size < 2) await new Promise(resolve => setTimeout(resolve, 5))
  const depth = Number(process.argv[2] ?? 11)
  const rates = []
  for (let i = 0; i < 5; i++) {
    const t = performance.now()
    const tasks = await futures.submit(subtree, depth)
    rates.push(Math.round(tasks / (performance.now() - t) * 1000))
  }
  console.log(JSON.stringify({ tasksPerSecond: rates }))
}
