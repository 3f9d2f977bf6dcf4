// scoop-node side of bench/run: `scoop-node -n N workloads.mjs <workload> [args]` prints one
// JSON line with the time the workload took inside the script (mesh start-up excluded).
import { futures, scoop } from 'scoop-node'
export { identity, piHits } from './tasks.mjs'
import { identity, piHits } from './tasks.mjs'

export async function subtree (depth) {
  if (depth === 0) return 1
  const [a, b] = await futures.map(subtree, [depth - 1, depth - 1])
  return 1 + a + b
}
export function whoAmI () { return scoop.workerName }
/** Busy for `ms`; says who ran it and when it started (wall clock: the peers share a machine). */
export function stamp (ms) {
  const at = Date.now()
  while (Date.now() < at + ms) { /* work */ }
  return [scoop.workerName, at]
}

async function fullMesh (want) {
  const deadline = Date.now() + 30_000
  while (scoop.size < want && Date.now() < deadline) await futures.submit(whoAmI)
}

const timed = async (fn) => { const t = process.hrtime.bigint(); const value = await fn(); return { ms: Number(process.hrtime.bigint() - t) / 1e6, value } }

if (scoop.isOrigin) {
  const [workload, a, b] = process.argv.slice(2)
  const peers = Number(process.env.BENCH_PEERS ?? 2)
  let out
  if (workload === 'one') {
    out = { value: await futures.submit(identity, 1) }
  } else if (workload === 'map') {
    await fullMesh(peers)
    const n = Number(a)
    const r = await timed(() => futures.map(identity, Array.from({ length: n }, (_, i) => i)))
    if (r.value.length !== n || r.value[n - 1] !== n - 1) throw new Error('wrong map result')
    out = { ms: r.ms }
  } else if (workload === 'roundtrip') {
    await fullMesh(peers)
    const samples = []
    for (let i = 0; i < 2000; i++) {
      const t = process.hrtime.bigint()
      await futures.submit(identity, i).result()
      if (i >= 200) samples.push(Number(process.hrtime.bigint() - t) / 1000)
    }
    samples.sort((x, y) => x - y)
    out = { medianUs: samples[samples.length >> 1] }
  } else if (workload === 'tree') {
    await fullMesh(peers)
    const r = await timed(() => futures.submit(subtree, Number(a)).result())
    out = { ms: r.ms, tasks: r.value }
  } else if (workload === 'stamped') {
    // A long map; prints MAPPING once it is under way (bench/run then starts a late joiner).
    const first = {}
    let i = 0
    for await (const [who, at] of futures.map(stamp, Array(Number(a)).fill(Number(b)))) {
      if (!(who in first)) first[who] = at
      if (++i === 10) console.log('MAPPING')
    }
    out = { first }
  } else if (workload === 'pi') {
    await fullMesh(peers)
    const r = await timed(() => futures.map(piHits, Array(Number(a)).fill(Number(b))))
    out = { ms: r.ms, pi: 4 * r.value.reduce((x, y) => x + y, 0) / (Number(a) * Number(b)) }
  }
  console.log(JSON.stringify(out))
}
