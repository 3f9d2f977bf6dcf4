// The workloads of `npm run bench` on a one-machine Node task pool (piscina, workerpool), given
// as a small adapter: `run(task, arg)` runs an export of bench/scripts/tasks.mjs on the pool and
// resolves to its value. Prints one JSON line, as bench/scripts/workloads.mjs does for scoop-node.
import { report, roundTripMedianUs, serialMs, timed } from '../scripts/measure.mjs'
import { piHits } from '../scripts/tasks.mjs'

/** Where the tasks live, for the pools that load a module by file name. */
export const TASKS_URL = new URL('../scripts/tasks.mjs', import.meta.url).href

/**
 * @param {object} pool
 * @param {(task: string, arg: number) => Promise<number>} pool.run
 * @param {() => Promise<void>} pool.stop
 * @param {number} pool.workers
 * @param {Record<string, string>} pool.cannotRun reasons, by workload, why the pool cannot run it
 * @param {string[]} argv the workload and its arguments
 */
export async function runWorkload (pool, [workload, a, b]) {
  if (workload in pool.cannotRun) {
    console.log(JSON.stringify({ cannotRun: pool.cannotRun[workload] }))
    await pool.stop()
    return
  }
  // The timed parts exclude the pool's start, as scoop-node's exclude the mesh's.
  const warmUp = () => Promise.all(Array.from({ length: 2 * pool.workers }, (_, i) => pool.run('identity', i)))
  // Neither pool has a map: the way to use them is one run() per item, all in flight at once.
  const eachItem = async (n) => {
    const out = await Promise.all(Array.from({ length: n }, (_, i) => pool.run('identity', i)))
    if (out[n - 1] !== n - 1) throw new Error('wrong result')
  }
  if (workload === 'one') {
    report({ value: await pool.run('identity', 1) })
  } else if (workload === 'map' || workload === 'flood') {
    await warmUp()
    report({ ms: (await timed(() => eachItem(Number(a)))).ms })
  } else if (workload === 'roundtrip') {
    await warmUp()
    report({ medianUs: await roundTripMedianUs(i => pool.run('identity', i), Number(a)) })
  } else if (workload === 'pi') {
    await warmUp()
    const [tasks, tries] = [Number(a), Number(b)]
    const serial = serialMs(piHits, tasks, tries)
    const r = await timed(() => Promise.all(Array.from({ length: tasks }, () => pool.run('piHits', tries))))
    report({ ms: r.ms, serialMs: serial })
  } else {
    throw new Error(`unknown workload ${workload}`)
  }
  await pool.stop()
}
