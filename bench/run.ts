// `npm run bench`: scoop-node against a plain child_process pool, same workloads, same
// invocation, same machine. Prints a markdown table on stdout (progress on stderr).
// Options: --quick (fewer repetitions), --peers N (default 2).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { hostname } from 'node:os'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { ChildPool } from './baseline/pool.js'

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..')
const CLI = join(ROOT, 'bin', 'scoop-node.js')
const WORKLOADS = join(ROOT, 'bench', 'scripts', 'workloads.mjs')
const TASKS_URL = pathToFileURL(join(ROOT, 'bench', 'scripts', 'tasks.mjs')).href

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    peers: { type: 'string', default: '2' },
    'baseline-one-task': { type: 'boolean', default: false },
    /** Only the late-joiner measurement (it needs no baseline). */
    'late-joiner': { type: 'boolean', default: false }
  }
})
const peers = Number(opts.peers)
const reps = opts.quick === true ? 3 : 5
const log = (line: string): void => { process.stderr.write(`${line}\n`) }
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]

/** Wall time of a whole command, in ms; fails loudly if the command fails. */
function wall (args: string[], env: Record<string, string> = {}): { ms: number, stdout: string } {
  const t = process.hrtime.bigint()
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000 })
  const ms = Number(process.hrtime.bigint() - t) / 1e6
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}): ${r.stderr}`)
  return { ms, stdout: r.stdout }
}

function scoopRun (workload: string, args: string[] = [], extra: string[] = []): any {
  const { stdout } = wall([CLI, '-n', String(peers), ...extra, WORKLOADS, workload, ...args], { BENCH_PEERS: String(peers) })
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}')
}

async function baselineOneTask (): Promise<void> {
  const pool = await ChildPool.start(peers - 1, TASKS_URL)
  await pool.call('identity', 1)
  pool.stop()
}

async function main (): Promise<void> {
  if (opts['baseline-one-task'] === true) { await baselineOneTask(); return }
  const rows: string[][] = []
  const row = (...cells: string[]): void => { rows.push(cells); log(`  ${cells.join(' | ')}`) }
  if (opts['late-joiner'] === true) { await lateJoiner(row); return }

  log(`startup + shutdown of a one-task script, -n ${peers} (median of ${reps})`)
  const launcher = median(Array.from({ length: reps }, () => wall([CLI, '-n', String(peers), WORKLOADS, 'one']).ms))
  const embedded = median(Array.from({ length: reps }, () => wall([WORKLOADS, 'one'], { SCOOP_WORKERS: String(peers) }).ms))
  const poolStart = median(Array.from({ length: reps }, () => wall([fileURLToPath(import.meta.url), '--baseline-one-task', '--peers', String(peers)]).ms))
  row('startup + shutdown, one-task script (launcher / embedded)', `${(launcher / 1000).toFixed(2)} s / ${(embedded / 1000).toFixed(2)} s`, `${(poolStart / 1000).toFixed(2)} s`, '≤ 1.0 s (SCOOP 0.31 s)')

  const n = 100_000
  log(`tiny-task map: ${n} identity tasks`)
  const mapMs = median(Array.from({ length: reps }, () => scoopRun('map', [String(n)]).ms))
  const pool = await ChildPool.start(peers, TASKS_URL)
  const items = Array.from({ length: n }, (_, i) => i)
  const poolMapMs = median(await sequence(reps, async () => { const t = performance.now(); await pool.map('identity', items, 1000); return performance.now() - t }))
  row(`tiny-task map, ${n / 1000}k identity tasks`, `${Math.round(n / mapMs * 1000).toLocaleString('en')} tasks/s`, `${Math.round(n / poolMapMs * 1000).toLocaleString('en')} tasks/s (batches of 1000)`, '≥ 50 000 tasks/s (SCOOP 1 300)')

  log('submit().result() round trip, sequential')
  const rtLocal = median(Array.from({ length: reps }, () => scoopRun('roundtrip').medianUs))
  const rtRemote = median(Array.from({ length: reps }, () => scoopRun('roundtrip', [], ['--no-origin-tasks']).medianUs))
  const poolRt = median(await sequence(2000, async () => { const t = performance.now(); await pool.call('identity', 1); return (performance.now() - t) * 1000 }))
  row('submit().result() round trip, median (on the origin / to another worker)', `${Math.round(rtLocal)} µs / ${Math.round(rtRemote)} µs`, `${Math.round(poolRt)} µs (to a child)`, '≤ 300 µs to another worker (SCOOP 420 µs)')

  log('nested binary tree of depth 12 (8 191 tasks, each waiting for its children)')
  const tree = median(Array.from({ length: reps }, () => scoopRun('tree', ['12']).ms))
  row('nested tree, depth 12 (8 191 tasks)', `${Math.round(8191 / tree * 1000).toLocaleString('en')} tasks/s`, 'cannot run (a plain pool deadlocks on nested waits)', 'SCOOP ≈ 5 400 tasks/s')

  const [tasks, tries] = [200, 200_000]
  log(`Monte-Carlo pi, ${tasks} × ${tries} tries (serial, mesh and pool interleaved, ${reps} rounds: the machine's speed drifts)`)
  const { piHits } = await import(TASKS_URL)
  const meshRatios: number[] = []
  const poolRatios: number[] = []
  const serials: number[] = []
  for (let round = 0; round < reps; round++) {
    const t = performance.now()
    for (let i = 0; i < tasks; i++) piHits(tries)
    const serial = performance.now() - t
    serials.push(serial)
    meshRatios.push(serial / scoopRun('pi', [String(tasks), String(tries)]).ms)
    const p = performance.now()
    await pool.map('piHits', Array(tasks).fill(tries), tasks / (4 * peers))
    poolRatios.push(serial / (performance.now() - p))
  }
  row(`Monte-Carlo pi speed-up over serial Node (${tasks} × ${tries / 1000}k tries)`, `${median(meshRatios).toFixed(2)}×`, `${median(poolRatios).toFixed(2)}×`, `≥ 1.7× with 2 workers (SCOOP 1.74×); serial ${(median(serials) / 1000).toFixed(2)} s`)
  pool.stop()

  await lateJoiner(row)

  console.log(`\nscoop-node bench, -n ${peers}, node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`)
  console.log('| workload | scoop-node | child_process pool | target |')
  console.log('| --- | --- | --- | --- |')
  for (const r of rows) console.log(`| ${r.join(' | ')} |`)
}

async function lateJoiner (row: (...cells: string[]) => void): Promise<void> {
  log('a late joiner on a long-lived mesh: from its launch to its first task (loopback)')
  const joins = await sequence(reps, lateJoinerFirstTaskMs)
  row('late joiner: launch to first task, loopback', `${Math.round(median(joins))} ms (${Math.round(Math.min(...joins))}–${Math.round(Math.max(...joins))})`, 'n/a', '≤ 1 s')
}

/** A process's output lines, as they come; `line(re)` waits (bounded) for the first match. */
function watch (child: ChildProcess): { line: (re: RegExp) => Promise<RegExpMatchArray>, text: () => string } {
  let text = ''
  const waiters = new Set<() => void>()
  const feed = (d: Buffer): void => { text += d.toString(); for (const w of [...waiters]) w() }
  child.stdout?.on('data', feed)
  child.stderr?.on('data', feed)
  child.on('exit', () => { for (const w of [...waiters]) w() })
  return {
    text: () => text,
    line: async re => await new Promise((resolve, reject) => {
      const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`no ${String(re)} within 60 s:\n${text}`)) }, 60_000)
      const check = (): void => {
        const m = re.exec(text)
        if (m != null) { clearTimeout(timer); waiters.delete(check); resolve(m) } else if (child.exitCode !== null) { clearTimeout(timer); waiters.delete(check); reject(new Error(`exited:\n${text}`)) }
      }
      waiters.add(check)
      check()
    })
  }
}

async function stopProcess (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise(resolve => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}

/** One long-lived worker, a map on it, and a second worker started mid-map: ms from its launch to its first task. */
async function lateJoinerFirstTaskMs (): Promise<number> {
  const start = (args: string[]): ChildProcess => spawn(process.execPath, [CLI, '--insecure', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  const mesh = start(['--listen', '/ip4/127.0.0.1/tcp/0', '-n', '1'])
  const children = [mesh]
  try {
    const [, address] = await watch(mesh).line(/listening on (\S+)/)
    const origin = start(['--join', address, '--no-origin-tasks', WORKLOADS, 'stamped', '400', '10'])
    children.push(origin)
    const originOut = watch(origin)
    await originOut.line(/MAPPING/)
    const launchedAt = Date.now()
    const joiner = start(['-v', '--join', address, '-n', '1'])
    children.push(joiner)
    const [, pid] = await watch(joiner).line(/worker (\d+) up on/)
    const [, report] = await originOut.line(/(\{"first".*\})/)
    const firstTask = JSON.parse(report).first[`${hostname()}:${pid}`]
    if (firstTask === undefined) throw new Error(`the late joiner got no task: ${report}`)
    return firstTask - launchedAt
  } finally {
    for (const child of children.reverse()) await stopProcess(child)
  }
}

async function sequence (count: number, fn: () => Promise<number>): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < count; i++) out.push(await fn())
  return out
}

await main()
