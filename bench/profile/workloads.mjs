// The workloads of issue 6's performance targets, run as `scoop-node -n 2 workloads.mjs <name> [args]`.
// Each prints one JSON line with what it measured inside the script (mesh start-up excluded).
// bench/profile/targets.mjs runs them; it copies this file next to an older build to compare.
import { readdirSync, readFileSync } from 'node:fs'
import { futures, scoop } from 'scoop-node'

export { identity, piHits } from '../scripts/tasks.mjs'
import { identity, piHits } from '../scripts/tasks.mjs'

export { subtree, whoAmI } from '../scripts/mesh-tasks.mjs'
import { subtree, whoAmI } from '../scripts/mesh-tasks.mjs'

/**
 * Waits until `want` peers take part. It sleeps between looks: a loop of tasks would take the
 * CPU that the workers need to start (the origin runs its own tasks at once).
 */
async function fullMesh (want) {
  const deadline = Date.now() + 30_000
  while (scoop.size < want && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 5))
  await futures.submit(whoAmI)
}

/** CPU time (user + system) of this process and the worker processes it started, ms: /proc/<pid>/stat, in clock ticks of 10 ms. */
function cpuMs () {
  const pids = [process.pid]
  for (const thread of readdirSync('/proc/self/task')) {
    pids.push(...readFileSync(`/proc/self/task/${thread}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number))
  }
  let ticks = 0
  for (const pid of pids) {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    ticks += Number(fields[11]) + Number(fields[12])
  }
  return ticks * 10
}

/** Wall time and CPU time (all processes of the run) of `fn`. */
const timed = async (fn) => {
  const cpu = cpuMs()
  const t = process.hrtime.bigint()
  const value = await fn()
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, cpuMs: cpuMs() - cpu, value }
}

/** Peak resident memory of this process so far (the origin's: launcher, host and executor threads), MB. */
const peakRssMb = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024

function * numbers (n) { for (let i = 0; i < n; i++) yield i }

if (scoop.isOrigin) {
  const [workload, a, b] = process.argv.slice(2)
  const peers = Number(process.env.BENCH_PEERS ?? 2)
  let out
  if (workload === 'one') {
    out = { value: await futures.submit(identity, 1) }
  } else if (workload === 'roundtrip') {
    await fullMesh(peers)
    const samples = []
    const count = Number(a ?? 3000)
    for (let i = 0; i < count; i++) {
      const t = process.hrtime.bigint()
      await futures.submit(identity, i).result()
      if (i >= 300) samples.push(Number(process.hrtime.bigint() - t) / 1000)
    }
    samples.sort((x, y) => x - y)
    out = { medianUs: samples[samples.length >> 1], p90Us: samples[Math.floor(samples.length * 0.9)] }
  } else if (workload === 'flood') {
    await fullMesh(peers)
    const n = Number(a ?? 20000)
    const r = await timed(async () => {
      const fs = []
      for (let i = 0; i < n; i++) fs.push(futures.submit(identity, i))
      let sum = 0
      for (const f of fs) sum += await f
      return sum
    })
    if (r.value !== n * (n - 1) / 2) throw new Error(`wrong flood sum ${r.value}`)
    out = { ms: r.ms, perSecond: Math.round(n / r.ms * 1000), cpuUsPerTask: Math.round(r.cpuMs * 1000 / n) }
  } else if (workload === 'map') {
    // `await futures.map` of an array of identity tasks, default options (the bench's 100k map).
    await fullMesh(peers)
    const n = Number(a ?? 100_000)
    const input = Array.from({ length: n }, (_, i) => i)
    const r = await timed(() => futures.map(identity, input))
    if (r.value.length !== n || r.value[n - 1] !== n - 1) throw new Error('wrong map result')
    out = { ms: r.ms, perSecond: Math.round(n / r.ms * 1000), cpuUsPerTask: Math.round(r.cpuMs * 1000 / n * 1000) / 1000 }
  } else if (workload === 'tree') {
    await fullMesh(peers)
    const depth = Number(a ?? 11)
    const r = await timed(() => futures.submit(subtree, depth).result())
    out = { ms: r.ms, tasks: r.value, perSecond: Math.round(r.value / r.ms * 1000), cpuUsPerTask: Math.round(r.cpuMs * 1000 / r.value) }
  } else if (workload === 'pi') {
    const [tasks, tries] = [Number(a ?? 200), Number(b ?? 200_000)]
    // Serial in this same thread, once every worker is up and idle (its start-up would slow it).
    await fullMesh(peers)
    const serial = await timed(async () => { let h = 0; for (let i = 0; i < tasks; i++) h += piHits(tries); return h })
    const mesh = await timed(() => futures.map(piHits, Array(tasks).fill(tries)))
    out = { serialMs: serial.ms, ms: mesh.ms, speedUp: serial.ms / mesh.ms, cpuMs: mesh.cpuMs }
  } else if (workload === 'bigmap') {
    await fullMesh(peers)
    const n = Number(a ?? 10_000_000)
    const before = peakRssMb()
    const r = await timed(async () => {
      let sum = 0
      let expect = 0
      for await (const v of futures.map(identity, numbers(n))) {
        if (v !== expect++) throw new Error(`result ${expect - 1} is ${v}`)
        sum += v
      }
      return sum
    })
    if (r.value !== n * (n - 1) / 2) throw new Error(`wrong map sum ${r.value}`)
    out = { ms: r.ms, perSecond: Math.round(n / r.ms * 1000), cpuUsPerItem: Math.round(r.cpuMs * 1000 / n * 100) / 100, peakRssMbBefore: Math.round(before), peakRssMb: Math.round(peakRssMb()) }
  }
  console.log(JSON.stringify(out))
}
