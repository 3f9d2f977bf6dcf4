// How every Node side of `npm run bench` measures (scoop-node's workloads.mjs and the piscina and
// workerpool peers): one timing helper, one round-trip sampler, one memory probe, one output line.
// The harness (bench/run.ts) reads the last stdout line of each run as JSON.
import { readFileSync, readdirSync } from 'node:fs'


export async function timed (fn) {
  const t = process.hrtime.bigint()
  const value = await fn()
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, value }
}

/** Median of `count` sequential awaited calls of `call(i)`, in µs, after count/10 more to warm up (JIT, connections). */
export async function roundTripMedianUs (call, count) {
  const warmUp = Math.ceil(count / 10)
  const samples = []
  for (let i = 0; i < count + warmUp; i++) {
    const t = process.hrtime.bigint()
    await call(i)
    if (i >= warmUp) samples.push(Number(process.hrtime.bigint() - t) / 1000)
  }
  samples.sort((x, y) => x - y)
  return samples[samples.length >> 1]
}

/** 0, 1, ..., n-1, made one at a time: an input that exists nowhere as a whole. */
export function * naturals (n) {
  for (let i = 0; i < n; i++) yield i
}

/** Tasks in a full binary tree of this depth (a leaf has depth 0). */
export const treeTasks = (depth) => 2 ** (depth + 1) - 1

/** Direct children of a process, from /proc (Linux): every thread's list, since a child belongs to the thread that forked it. */
function childPids (pid) {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap(tid =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number))
  } catch {
    return []
  }
}

/** A live process's peak resident set (VmHWM) in KiB, or 0 if it has gone. */
function peakRssKiB (pid) {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m == null ? 0 : Number(m[1])
  } catch {
    return 0
  }
}

/**
 * Peak RSS so far, in KiB: this process's (`origin`, all its threads included) and the largest
 * of its live descendant processes (`worker`; null when it has none, e.g. a thread pool).
 * Called at the end of a workload, while the workers still live.
 */
export function peakRss () {
  let worker = null
  const pending = childPids(process.pid)
  while (pending.length > 0) {
    const pid = pending.pop()
    worker = Math.max(worker ?? 0, peakRssKiB(pid))
    pending.push(...childPids(pid))
  }
  return { origin: process.resourceUsage().maxRSS, worker }
}

/** The one line a run prints for the harness: its figures and the peak RSS at this point. */
export function report (figures) {
  console.log(JSON.stringify({ ...figures, rss: peakRss() }))
}

/** Serial Node time of the Monte-Carlo workload, in this process: the base of every speed-up. */
export function serialMs (piHits, tasks, tries) {
  const t = performance.now()
  for (let i = 0; i < tasks; i++) piHits(tries)
  return performance.now() - t
}
