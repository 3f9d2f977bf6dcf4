// `npm run bench`: scoop-node and the tools a user would pick instead (piscina, workerpool,
// Python's multiprocessing.Pool and ProcessPoolExecutor, Dask distributed when installed) on the
// same workloads, in one invocation, on the same machine. Every run is a fresh process; the runs
// of the contenders are interleaved so that the machine's drift spreads over all of them. Prints
// one markdown table on stdout (progress on stderr). See bench/README.md for how to read it.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { fileURLToPath } from 'node:url'
import { delimiter, dirname, join } from 'node:path'
import { parseArgs } from 'node:util'

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..')
// Run as a command, as `npx scoop-node` runs it (its #! line gives node its options), with this
// node first on PATH.
const CLI = join(ROOT, 'bin', 'scoop-node.js')
const COMMAND_PATH = { PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` }
const WORKLOADS = join(ROOT, 'bench', 'scripts', 'workloads.mjs')
const PEERS_DIR = join(ROOT, 'bench', 'peers')
/** Debian's python3, the one python3-distributed installs Dask for. */
const DEBIAN_PYTHON = '/usr/bin/python3'

const { values: opts } = parseArgs({
  options: {
    /** 3 runs per cell instead of 5, for development. */
    quick: { type: 'boolean', default: false },
    /** Worker count for every contender (scoop-node's -n counts the origin, as SCOOP's does). */
    workers: { type: 'string', default: '2' },
    /** Comma-separated workload keys (see WORKLOADS below); default all. */
    only: { type: 'string' },
    /** Comma-separated contender names to leave out, e.g. dask. */
    skip: { type: 'string' },
    /** Also write every run's raw figures to this file, as JSON. */
    json: { type: 'string' },
    /** Only the late-joiner measurement (it has no peer to compare with). */
    'late-joiner': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false }
  }
})
if (opts.help === true) {
  console.log(`Usage: npm run bench -- [options]   (or: node dist/bench/run.js [options])

Runs scoop-node, piscina, workerpool, Python's multiprocessing.Pool and ProcessPoolExecutor, and
Dask distributed (when Debian's python3-distributed is installed) on the same workloads, and
prints one markdown table: each cell the median of 5 runs (min-max), with scoop-node's ratio to
each peer. Takes about 12 minutes on 2 idle cores. See bench/README.md.

Options:
  --quick           3 runs per cell instead of 5
  --workers N       workers for every contender (default 2; scoop-node's -n counts the origin)
  --only KEYS       workloads to run, comma-separated: one, map, flood, roundtrip, tree, pi,
                    stream, late-joiner (default: all)
  --skip NAMES      contenders to leave out, comma-separated: piscina, workerpool, mp.Pool,
                    ProcessPoolExecutor, Dask
  --json FILE       also write every run's raw figures to FILE
  --late-joiner     only the late-joiner measurement (scoop-node alone)
  -h, --help        this text`)
  process.exit(0)
}
const workers = Number(opts.workers)
const reps = opts.quick === true ? 3 : 5
const log = (line: string): void => { process.stderr.write(`${line}\n`) }
const progress = (text: string): void => { process.stderr.write(text) }

/** What one run printed (its last stdout line, JSON), and its whole-command wall time. */
interface RunResult {
  wallMs: number
  ms?: number
  medianUs?: number
  serialMs?: number
  /** Peak RSS in KiB: the origin process and its largest descendant process (null: none, e.g. threads). */
  rss?: { origin: number, worker: number | null }
  cannotRun?: string
  /** Set by the harness: the run failed or timed out; the text says how. */
  failed?: string
}

interface Workload {
  /** The workload's name in the scripts' command lines, and in --only. */
  key: string
  label: string
  args: string[]
  /** The number the table shows, from one run. */
  figure: (run: RunResult, args: string[]) => number
  /** The figure as text, without its unit (min and max are written the same way). */
  format: (x: number) => string
  unit: string
  higherIsBetter: boolean
  target: string
  /** Launcher options of scoop-node's runs of this row. */
  scoopFlags?: string[]
  /** Run the peers under another row's key: a row that differs only on scoop-node's side. */
  peersAs?: string
  /** Give up on a run after this long. */
  timeoutMs?: number
}

interface Contender {
  name: string
  /** Why it cannot run on this machine, or undefined. */
  missing: () => string | undefined
  command: (workload: Workload, args: string[]) => [string, string[]]
  /** Smaller arguments for a contender whose full size would not fit the bench's time, by workload key. */
  sizes?: Record<string, string[]>
}

const rate = (run: RunResult, args: string[]): number => Number(args[0]) / (run.ms as number) * 1000
const treeRate = (run: RunResult, args: string[]): number => (2 ** (Number(args[0]) + 1) - 1) / (run.ms as number) * 1000
const whole = (x: number): string => Math.round(x).toLocaleString('en')

/** The workloads of issue 6, 2 workers everywhere by default. */
const WORKLOADS_TABLE: Workload[] = [
  { key: 'one', label: 'startup + shutdown, 1-task script (whole command)', args: [], figure: run => run.wallMs / 1000, format: x => x.toFixed(2), unit: ' s', higherIsBetter: false, target: '≤ 0.20 s (SCOOP 0.31 s)' },
  { key: 'map', label: 'map of 100 000 identity tasks, default options', args: ['100000'], figure: rate, format: whole, unit: '/s', higherIsBetter: true, target: '≥ mp.Pool (SCOOP ≈ 1 300/s)' },
  { key: 'flood', label: 'submit flood: 20 000 tasks submitted one by one, then awaited', args: ['20000'], figure: rate, format: whole, unit: '/s', higherIsBetter: true, target: '≥ 100 000/s (SCOOP ≈ 1 300/s)' },
  { key: 'roundtrip', label: 'submit().result() round trip on another worker, median', args: ['2000'], scoopFlags: ['--no-origin-tasks'], figure: run => run.medianUs as number, format: whole, unit: ' µs', higherIsBetter: false, target: '≤ 200 µs (SCOOP ≈ 420 µs)' },
  { key: 'roundtrip', label: 'same, run by the origin itself (peers: their only path, as above)', args: ['2000'], peersAs: 'roundtrip', figure: run => run.medianUs as number, format: whole, unit: ' µs', higherIsBetter: false, target: '≤ 50 µs (SCOOP 48 µs)' },
  { key: 'tree', label: 'nested binary tree, depth 11 (4 095 tasks awaiting their children)', args: ['11'], figure: treeRate, format: whole, unit: '/s', higherIsBetter: true, target: '≥ 50 000/s (SCOOP ≈ 5 400/s)', timeoutMs: 120_000 },
  { key: 'pi', label: 'Monte-Carlo pi, 200 × 200 000 points: speed-up over serial', args: ['200', '200000'], figure: run => (run.serialMs as number) / (run.ms as number), format: x => x.toFixed(2), unit: '×', higherIsBetter: true, target: '≥ 1.9× (SCOOP 1.74×)' },
  { key: 'stream', label: 'map over a 10-million-item generator, consumed as it streams', args: ['10000000'], figure: rate, format: whole, unit: '/s', higherIsBetter: true, target: 'origin RSS ≤ 200 MB, streaming', timeoutMs: 300_000 }
]

/** Pure CPython runs a Monte-Carlo point ~10× slower than Node: 10× fewer points keep its tasks about as long (~5 ms). */
const PYTHON_SIZES = { pi: ['200', '20000'] }

/**
 * A map that sends one message per item (piscina and workerpool have no map, so one call per item;
 * ProcessPoolExecutor.map's default chunk is 1) runs 5 000-20 000 items/s here: 20 000 items
 * measure that rate in seconds instead of a minute.
 */
const ITEM_BY_ITEM_MAP = { map: ['20000'] }

const nodePeer = (name: string, file: string): Contender => ({
  name,
  missing: () => undefined,
  command: (w, args) => [process.execPath, [join(PEERS_DIR, file), w.key, ...args]],
  sizes: ITEM_BY_ITEM_MAP
})

const pythonWorks = (python: string, module: string): boolean =>
  spawnSync(python, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0

const CONTENDERS: Contender[] = [
  {
    name: 'scoop-node',
    missing: () => undefined,
    command: (w, args) => [CLI, ['-n', String(workers), ...(w.scoopFlags ?? []), WORKLOADS, w.key, ...args]]
  },
  nodePeer('piscina', 'piscina.mjs'),
  nodePeer('workerpool', 'workerpool.mjs'),
  {
    name: 'mp.Pool',
    missing: () => pythonWorks('python3', 'multiprocessing') ? undefined : 'no python3 on PATH',
    command: (w, args) => ['python3', [join(PEERS_DIR, 'python_pool.py'), 'mp', w.key, ...args]],
    sizes: PYTHON_SIZES
  },
  {
    name: 'ProcessPoolExecutor',
    missing: () => pythonWorks('python3', 'concurrent.futures') ? undefined : 'no python3 on PATH',
    command: (w, args) => ['python3', [join(PEERS_DIR, 'python_pool.py'), 'ppe', w.key, ...args]],
    sizes: { ...PYTHON_SIZES, ...ITEM_BY_ITEM_MAP }
  },
  {
    name: 'Dask',
    missing: () => pythonWorks(DEBIAN_PYTHON, 'distributed') ? undefined : `not installed (${DEBIAN_PYTHON} cannot import distributed): apt-get install python3-distributed`,
    command: (w, args) => [DEBIAN_PYTHON, [join(PEERS_DIR, 'dask_bench.py'), w.key, ...args]],
    // Dask's scheduler handles a few hundred tiny tasks per second here and its round trip is ~11 ms
    // (its client batches sends every 10 ms): the full sizes would take minutes per run. Its tree
    // is depth 8: depth 11 took 45 s in one run by hand (92/s; 197/s at depth 8, so the smaller
    // tree flatters Dask). Rates are per task, so they compare across sizes.
    sizes: { ...PYTHON_SIZES, map: ['2000'], flood: ['2000'], roundtrip: ['300'], tree: ['8'] }
  }
]

/** Runs one command in its own process group; kills the group if it outlives `timeoutMs`. */
async function runOnce (command: [string, string[]], timeoutMs: number): Promise<RunResult> {
  const started = process.hrtime.bigint()
  const child = spawn(command[0], command[1], {
    cwd: ROOT,
    env: { ...process.env, ...COMMAND_PATH, BENCH_PEERS: String(workers), BENCH_WORKERS: String(workers) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    if (child.pid !== undefined) try { process.kill(-child.pid, 'SIGKILL') } catch {}
  }, timeoutMs)
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  clearTimeout(timer)
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6
  if (timedOut) return { wallMs, failed: `timed out after ${timeoutMs / 1000} s` }
  if (code !== 0) return { wallMs, failed: `exit ${code}: ${stderr.trim().split('\n').pop() ?? ''}` }
  try {
    return { ...JSON.parse(stdout.trim().split('\n').pop() ?? ''), wallMs }
  } catch {
    return { wallMs, failed: `no JSON line in its output: ${stdout.slice(-200)}` }
  }
}

interface Cell { contender: string, args: string[], runs: RunResult[] }

/** All runs of one workload: `reps` rounds, each running every contender once, in turn. */
async function measure (w: Workload, contenders: Contender[], peerCells: Map<string, Cell[]>): Promise<Cell[]> {
  const reused = w.peersAs === undefined ? undefined : peerCells.get(w.peersAs)
  const cells: Cell[] = contenders
    .filter(c => reused === undefined || c.name === 'scoop-node')
    .map(c => ({ contender: c.name, args: c.sizes?.[w.key] ?? w.args, runs: [] }))
  progress(`${w.label}: `)
  const began = performance.now()
  for (let round = 0; round < reps; round++) {
    for (const cell of cells) {
      // One answer is enough from a contender that cannot run the workload or failed.
      if (cell.runs.some(r => r.cannotRun !== undefined || r.failed !== undefined)) continue
      const contender = contenders.find(c => c.name === cell.contender) as Contender
      cell.runs.push(await runOnce(contender.command(w, cell.args), w.timeoutMs ?? 60_000))
      progress('.')
    }
  }
  progress(` ${Math.round((performance.now() - began) / 1000)} s\n`)
  if (w.peersAs === undefined) peerCells.set(w.key, cells.filter(c => c.contender !== 'scoop-node'))
  return [...cells, ...(reused ?? [])]
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const mib = (kib: number | null): string => kib === null ? '–' : String(Math.round(kib / 1024))

/** The peak RSS over a cell's runs, "origin / largest worker" in MiB. */
function memory (cell: Cell): string {
  const ok = cell.runs.filter(r => r.rss !== undefined)
  if (ok.length === 0) return ''
  const origin = Math.max(...ok.map(r => r.rss?.origin ?? 0))
  const worker = ok.some(r => r.rss?.worker != null) ? Math.max(...ok.map(r => r.rss?.worker ?? 0)) : null
  return `${mib(origin)} / ${mib(worker)} MiB`
}

/** Texts printed under the table, each once; cells refer to them by number (the reasons are long and repeat). */
const footnotes: string[] = []
function footnote (text: string): string {
  const at = footnotes.indexOf(text)
  return `note ${at >= 0 ? at + 1 : footnotes.push(text)}`
}

/** "median (min–max)", or why there is no figure; and the median, for the ratios. */
function summary (w: Workload, cell: Cell): { text: string, median?: number } {
  const bad = cell.runs.find(r => r.cannotRun !== undefined || r.failed !== undefined)
  if (bad?.cannotRun !== undefined) return { text: `cannot run (${footnote(`${cell.contender}: ${bad.cannotRun}`)})` }
  if (bad?.failed !== undefined) return { text: `failed (${footnote(`${cell.contender}: ${bad.failed}`)})` }
  const xs = cell.runs.map(r => w.figure(r, cell.args))
  const m = median(xs)
  const size = cell.args.join(' ') === w.args.join(' ') ? '' : ` [${cell.args.join(' × ')}]`
  return { text: `${w.format(m)}${w.unit} (${w.format(Math.min(...xs))}–${w.format(Math.max(...xs))})${size}`, median: m }
}

/** How many times better scoop-node's median is than the peer's: > 1, scoop-node is better. */
function ratio (w: Workload, scoop: number | undefined, peer: number | undefined): string {
  if (scoop === undefined || peer === undefined) return ''
  const r = w.higherIsBetter ? scoop / peer : peer / scoop
  return `×${r >= 10 ? Math.round(r) : r.toPrecision(2)}`
}

async function main (): Promise<void> {
  if (opts['late-joiner'] === true) {
    const late = await lateJoiner()
    console.log(`| workload | target | scoop-node |\n| --- | --- | --- |\n| ${LATE_JOINER_LABEL} | ≤ 1 s | ${late} |`)
    printFootnotes()
    return
  }
  const only = opts.only?.split(',')
  const skip = new Set(opts.skip?.split(',') ?? [])
  const notes: string[] = []
  const contenders = CONTENDERS.filter(c => {
    if (skip.has(c.name)) return false
    const why = c.missing()
    if (why !== undefined) notes.push(`${c.name} skipped: ${why}.`)
    return why === undefined
  })
  for (const note of notes) log(note)
  const peers = contenders.filter(c => c.name !== 'scoop-node').map(c => c.name)
  const raw: Record<string, Cell[]> = {}
  const rows: string[][] = []
  const peerCells = new Map<string, Cell[]>()
  for (const w of WORKLOADS_TABLE.filter(w => only === undefined || only.includes(w.key))) {
    const cells = await measure(w, contenders, peerCells)
    raw[w.label] = cells
    const scoop = cells.find(c => c.contender === 'scoop-node') as Cell
    const s = summary(w, scoop)
    rows.push([w.label, w.target, s.text, memory(scoop), ...peers.map(name => {
      const cell = cells.find(c => c.contender === name) as Cell
      const p = summary(w, cell)
      return [p.text, ratio(w, s.median, p.median), memory(cell)].filter(Boolean).join(' · ')
    })])
  }
  const late = only === undefined || only.includes('late-joiner') ? await lateJoiner() : undefined
  if (opts.json !== undefined) writeFileSync(opts.json, JSON.stringify(raw, null, 2))

  console.log(`\nscoop-node bench: ${workers} workers each, median of ${reps} runs (min–max), node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`)
  console.log(`| workload | target | scoop-node | scoop-node peak RSS (origin / largest worker) | ${peers.join(' | ')} |`)
  console.log(`| --- | --- | --- | --- |${peers.map(() => ' --- |').join('')}`)
  for (const r of rows) console.log(`| ${r.join(' | ')} |`)
  if (late !== undefined) console.log(`| ${LATE_JOINER_LABEL} | ≤ 1 s | ${late} | | ${peers.map(() => 'n/a').join(' | ')} |`)
  console.log('\n×N after a peer\'s figure: scoop-node\'s median is N times better than that peer\'s (> 1: scoop-node wins; < 1: the peer wins).')
  console.log('Peak RSS in MiB: the origin process / the largest worker process (–: the peer\'s workers are threads, counted in the origin).')
  console.log('[a × b]: that peer ran a smaller size (rates and speed-ups compare across sizes; see bench/README.md).')
  printFootnotes()
  for (const note of notes) console.log(note)
}

function printFootnotes (): void {
  footnotes.forEach((text, i) => { console.log(`note ${i + 1}: ${text}`) })
}

const LATE_JOINER_LABEL = 'late joiner on a long-lived mesh: launch to first task, loopback'

/** The late-joiner cell; a failure is reported in it, not thrown: the rest of the table stands. */
async function lateJoiner (): Promise<string> {
  log('a late joiner on a long-lived mesh: from its launch to its first task (loopback)')
  const joins: number[] = []
  try {
    for (let i = 0; i < reps; i++) joins.push(await lateJoinerFirstTaskMs())
  } catch (err) {
    return `failed (${footnote(`scoop-node: ${(err as Error).message.split('\n')[0]}`)})`
  }
  return `${Math.round(median(joins))} ms (${Math.round(Math.min(...joins))}–${Math.round(Math.max(...joins))})`
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
  const start = (args: string[]): ChildProcess => spawn(CLI, ['--insecure', ...args], { cwd: ROOT, env: { ...process.env, ...COMMAND_PATH }, stdio: ['ignore', 'pipe', 'pipe'] })
  const mesh = start(['--listen', '/ip4/127.0.0.1/tcp/0', '-n', '1'])
  const children = [mesh]
  try {
    const [, address] = await watch(mesh).line(/listening on (\S+)/)
    // 1 000 tasks of 10 ms keep the map going ~10 s: the joiner's own start-up takes up to 2 s on a
    // loaded machine, and with 400 tasks the map sometimes ended before it joined (no task: no figure).
    const origin = start(['--join', address, '--no-origin-tasks', WORKLOADS, 'stamped', '1000', '10'])
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

await main()
