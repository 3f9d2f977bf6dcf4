// scoop-node side of bench/run: `scoop-node -n N workloads.mjs <workload> [args]` prints one
// JSON line (see measure.mjs) with the time the workload took inside the script (mesh start-up
// excluded) and the peak RSS of the origin and of its largest worker at the end.
import { futures, scoop } from 'scoop-node'
import { naturals, report, roundTripMedianUs, serialMs, timed, treeTasks } from './measure.mjs'
export { identity, piHits } from './tasks.mjs'
import { identity, piHits } from './tasks.mjs'

export { subtree, whoAmI } from './mesh-tasks.mjs'
import { subtree, whoAmI } from './mesh-tasks.mjs'

/** Busy for `ms`; says who ran it and when it started (wall clock: the peers share a machine). */
export function stamp (ms) {
  const at = Date.now()
  while (Date.now() < at + ms) { /* work */ }
  return [scoop.workerName, at]
}

/**
 * Waits until every peer has joined, so that no timed part includes a worker's start. It sleeps
 * between looks: a loop of tasks would take the CPU the workers need to start, and its garbage
 * counted in the origin's peak RSS (the 10M-item map's row: 168-193 MiB with the loop, 149-152
 * with sleeps, as bench/profile/workloads.mjs does).
 */
async function fullMesh (want) {
  const deadline = Date.now() + 30_000
  while (scoop.size < want && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 5))
  await futures.submit(whoAmI)
}

const check = (ok, what) => { if (!ok) throw new Error(`wrong result: ${what}`) }

if (scoop.isOrigin) {
  const [workload, a, b] = process.argv.slice(2)
  const peers = Number(process.env.BENCH_PEERS ?? 2)
  if (workload === 'one') {
    report({ value: await futures.submit(identity, 1) })
  } else if (workload === 'map') {
    await fullMesh(peers)
    const n = Number(a)
    const r = await timed(() => futures.map(identity, Array.from({ length: n }, (_, i) => i)))
    check(r.value.length === n && r.value[n - 1] === n - 1, 'map')
    report({ ms: r.ms })
  } else if (workload === 'flood') {
    // Tiny tasks one by one: every submit is its own task, none awaited before the last is submitted.
    await fullMesh(peers)
    const n = Number(a)
    const r = await timed(() => {
      const fs = []
      for (let i = 0; i < n; i++) fs.push(futures.submit(identity, i))
      return Promise.all(fs)
    })
    check(r.value[n - 1] === n - 1, 'flood')
    report({ ms: r.ms })
  } else if (workload === 'roundtrip') {
    await fullMesh(peers)
    report({ medianUs: await roundTripMedianUs(i => futures.submit(identity, i).result(), Number(a)) })
  } else if (workload === 'tree') {
    await fullMesh(peers)
    const r = await timed(() => futures.submit(subtree, Number(a)).result())
    check(r.value === treeTasks(Number(a)), 'tree')
    report({ ms: r.ms })
  } else if (workload === 'pi') {
    await fullMesh(peers)
    const [tasks, tries] = [Number(a), Number(b)]
    const serial = serialMs(piHits, tasks, tries)
    const r = await timed(() => futures.map(piHits, Array(tasks).fill(tries)))
    check(Math.abs(4 * r.value.reduce((x, y) => x + y, 0) / (tasks * tries) - Math.PI) < 0.01, 'pi')
    report({ ms: r.ms, serialMs: serial })
  } else if (workload === 'stream') {
    // A map over a generator, consumed as results come: the input is never whole in memory.
    await fullMesh(peers)
    const n = Number(a)
    const r = await timed(async () => {
      let sum = 0
      for await (const value of futures.map(identity, naturals(n))) sum += value
      return sum
    })
    check(r.value === n * (n - 1) / 2, 'stream')
    report({ ms: r.ms })
  } else if (workload === 'stamped') {
    // A long map; prints MAPPING once it is under way (bench/run then starts a late joiner).
    const first = {}
    let i = 0
    for await (const [who, at] of futures.map(stamp, Array(Number(a)).fill(Number(b)))) {
      // The earliest start of each worker, not the first result from it in input order: a
      // joiner takes tasks from the middle of the map, and a lower item it ran later (or another
      // worker's) comes first.
      if (!(who in first) || at < first[who]) first[who] = at
      if (++i === 10) console.log('MAPPING')
    }
    console.log(JSON.stringify({ first }))
  } else {
    throw new Error(`unknown workload ${workload}`)
  }
}
