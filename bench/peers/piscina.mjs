// piscina (worker threads) on the workloads of `npm run bench`: `node piscina.mjs <workload> [args]`.
import { Piscina } from 'piscina'
import { TASKS_URL, runWorkload } from './node-pool.mjs'

const workers = Number(process.env.BENCH_WORKERS ?? 2)
const pool = new Piscina({ filename: TASKS_URL, minThreads: workers, maxThreads: workers })

await runWorkload({
  workers,
  run: (task, arg) => pool.run(arg, { name: task }),
  stop: () => pool.destroy(),
  cannotRun: {
    tree: 'a task has no handle on its pool to submit children, and a thread blocked on its children would hold its slot (deadlock)',
    stream: 'no map over an iterable: one run() per item, so 10M pending promises, or a hand-written bounded loop'
  }
}, process.argv.slice(2))
