// workerpool (worker threads, its default in Node) on the workloads of `npm run bench`:
// `node workerpool.mjs <workload> [args]`.
import workerpool from 'workerpool'
import { fileURLToPath } from 'node:url'
import { runWorkload } from './node-pool.mjs'

const workers = Number(process.env.BENCH_WORKERS ?? 2)
const pool = workerpool.pool(fileURLToPath(new URL('./workerpool-worker.mjs', import.meta.url)), { minWorkers: workers, maxWorkers: workers })

await runWorkload({
  workers,
  run: (task, arg) => pool.exec(task, [arg]),
  stop: () => pool.terminate(),
  cannotRun: {
    tree: 'a worker cannot submit to its own pool, and a worker blocked on its children would hold its slot (deadlock)',
    stream: 'no map over an iterable: one exec() per item, so 10M pending promises, or a hand-written bounded loop'
  }
}, process.argv.slice(2))
