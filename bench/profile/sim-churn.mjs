// Seeded sweeps of the simulator (the real Scheduler on virtual peers) that kill one worker
// while tasks move between workers, over jittery links: how many maps and trees never finish.
// Used to find, and then to check, the races of tasks in transit (docs/reliability.md).
//   npm run build && node bench/profile/sim-churn.mjs [seeds, default 60] [ROOT, default this checkout]
// Bounded: at most `seeds` seeds and 4 minutes.
import { join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const seeds = Number(process.argv[2] ?? 60)
const root = resolve(process.argv[3] ?? join(fileURLToPath(new URL('.', import.meta.url)), '..', '..'))
const { defaultOptions, runFlatMap, runTree } = await import(pathToFileURL(join(root, 'dist/src/sim/scenarios.js')).href)

/** [peers, jitter ms, detect ms, chunking, loss]; latency is 0.2 ms throughout. */
const SHAPES = [[10, 2, 0, 'none', 0], [16, 1, 5, 'adaptive', 0], [6, 3, 0, 'none', 0], [24, 0.5, 2, 'none', 0], [10, 2, 50, 'none', 0], [12, 2, 0, 'adaptive', 0.05], [32, 2, 3, 'none', 0.02]]
const KILL_AT_MS = [1, 3, 6]
const deadline = Date.now() + 4 * 60_000
const hung = { map: 0, tree: 0 }
let runs = 0
for (let seed = 1; seed <= seeds && Date.now() < deadline; seed++) {
  for (const [peers, jitterMs, detectMs, chunking, loss] of SHAPES) {
    for (const killPeerAtMs of KILL_AT_MS) {
      const o = { ...defaultOptions, peers, tasks: 400, treeDepth: 8, taskMs: 0.5, taskSpread: 0.9, latencyMs: 0.2, jitterMs, detectMs, loss, chunking, seed, killPeerAtMs, startSpreadMs: 20 }
      runs++
      const map = runFlatMap(o)
      if (!map.completed || !map.resolvedExactlyOnce) hung.map++
      const tree = runTree(o)
      if (!tree.resolvedExactlyOnce) hung.tree++
    }
  }
}
console.log(`${root}: of ${runs} maps ${hung.map} never finished; of ${runs} trees ${hung.tree}`)
