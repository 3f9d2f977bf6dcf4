// Where the time of one task's round trip goes, from the per-thread hop timestamps that
// bench/profile/roundtrip-trace.patch writes (all threads and processes share CLOCK_MONOTONIC).
// Apply the patch to a copy of the tree, not to one you commit from:
//   git apply bench/profile/roundtrip-trace.patch && npm run build
//   mkdir /tmp/hops && SCOOP_HOP_TRACE=/tmp/hops SCOOP_HOP_FIRST=2000 \
//     node bin/scoop-node.js -n 2 --no-origin-tasks bench/profile/workloads.mjs roundtrip
//   node bench/profile/hops.mjs /tmp/hops
// It traces tasks SCOOP_HOP_FIRST to SCOOP_HOP_FIRST + 199 (default 1000). The patch also makes
// SCOOP_PROFILE_DIR=DIR start worker processes with --cpu-prof (see cpu.sh), and SCOOP_STATS=1
// print each peer's scheduler figures every SCOOP_STATS_MS (default 50 ms) on stderr.
// Prints, for each step between two consecutive hops of a task, the median time and the threads
// (O: the origin's process, W: the worker's; host: its main thread, exec: its executor thread).
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const dir = process.argv[2]
const files = readdirSync(dir).filter(f => f.endsWith('.txt'))
// The origin is the process whose executor submitted (E.submit).
const events = []
const pidsWithSubmit = new Set()
for (const f of files) {
  const [pid, thread] = f.replace('.txt', '').split('-')
  for (const line of readFileSync(join(dir, f), 'utf8').trim().split('\n')) {
    const [label, seq, t] = line.split(' ')
    events.push({ label, seq: Number(seq), t: BigInt(t), pid, thread })
    if (label === 'E.submit') pidsWithSubmit.add(pid)
  }
}
const bySeq = new Map()
for (const e of events) {
  e.where = `${pidsWithSubmit.has(e.pid) ? 'O' : 'W'}${e.thread === '0' ? 'host' : 'exec'}`
  bySeq.set(e.seq, [...(bySeq.get(e.seq) ?? []), e])
}
const steps = new Map()
const totals = []
for (const list of bySeq.values()) {
  list.sort((a, b) => (a.t < b.t ? -1 : 1))
  for (let i = 1; i < list.length; i++) {
    const key = `${list[i - 1].where}:${list[i - 1].label} → ${list[i].where}:${list[i].label}`
    steps.set(key, [...(steps.get(key) ?? []), Number(list[i].t - list[i - 1].t) / 1000])
  }
  totals.push(Number(list[list.length - 1].t - list[0].t) / 1000)
}
const median = xs => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const order = [...steps].sort((a, b) => b[1].length - a[1].length || 0)
console.log(`${bySeq.size} tasks; median first → last hop: ${median(totals).toFixed(1)} µs`)
let sum = 0
for (const [key, xs] of order) {
  if (xs.length < bySeq.size / 2) continue
  sum += median(xs)
  console.log(`${median(xs).toFixed(1).padStart(8)} µs  (n=${xs.length})  ${key}`)
}
console.log(`${sum.toFixed(1).padStart(8)} µs  sum of the medians above`)
