// Who ran the tasks of a submit flood, and when: `scoop-node -n 2 bench/profile/steals.mjs [20000]`.
// Prints the wall time, each worker's task count, and per 10 ms of the run how many tasks each
// worker ran (times from the submit loop's start, in the origin's clock; one machine, so the
// workers' clocks agree). Shows whether a thief took part and what its share cost.
import { futures, scoop } from 'scoop-node'

/** The worker that ran it, and when (ms since the time origin of the wall clock). */
export function where () { return [scoop.workerName, performance.timeOrigin + performance.now()] }
export function whoAmI () { return scoop.workerName }

if (scoop.isOrigin) {
  while (scoop.size < 2) await new Promise(resolve => setTimeout(resolve, 5))
  await futures.submit(whoAmI)
  const n = Number(process.argv[2] ?? 20000)
  const start = performance.timeOrigin + performance.now()
  const futuresOfFlood = []
  for (let i = 0; i < n; i++) futuresOfFlood.push(futures.submit(where, i))
  const submitMs = performance.timeOrigin + performance.now() - start
  const perWorker = {}
  for (const f of futuresOfFlood) {
    const [worker, at] = await f
    const ran = (perWorker[worker] ??= { tasks: 0, per10ms: {} })
    ran.tasks++
    const slot = Math.floor((at - start) / 10) * 10
    ran.per10ms[slot] = (ran.per10ms[slot] ?? 0) + 1
  }
  const ms = performance.timeOrigin + performance.now() - start
  console.log(`${n} tasks in ${ms.toFixed(0)} ms (${Math.round(n / ms * 1000)}/s; the submit loop ${submitMs.toFixed(0)} ms)`)
  for (const [worker, ran] of Object.entries(perWorker)) console.log(`${worker}: ${ran.tasks} tasks; ran per 10 ms: ${JSON.stringify(ran.per10ms)}`)
}
