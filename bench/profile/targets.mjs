// Issue 6's performance targets, measured on one or more builds of scoop-node in the same
// invocation, runs interleaved (this machine's speed drifts): build A, build B, A, B, ...
//
//   node bench/profile/targets.mjs [--reps 5] [--only one,remote,...] [ROOT ...]
//
// ROOT: a built checkout (default: this one); bench/profile/workloads.mjs is copied into any
// other ROOT so that its `import 'scoop-node'` resolves to that build. Prints a markdown table
// of medians (and the spread) on stdout, each run on stderr.
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync } from 'node:fs'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const HERE = fileURLToPath(new URL('.', import.meta.url))
const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    reps: { type: 'string', default: '5' },
    only: { type: 'string' },
    peers: { type: 'string', default: '2' }
  }
})
const roots = (positionals.length > 0 ? positionals : [join(HERE, '..', '..')]).map(r => resolve(r))
const reps = Number(opts.reps)
const peers = opts.peers

/** name → how to run it, and which figure of its JSON line to report. */
const TARGETS = {
  one: { args: ['one'], wall: true, unit: 's', target: '≤ 0.20 s', pick: (_, ms) => ms / 1000 },
  remote: { args: ['roundtrip'], extra: ['--no-origin-tasks'], unit: 'µs', target: '≤ 200 µs', pick: o => o.medianUs },
  local: { args: ['roundtrip'], unit: 'µs', target: '≤ 50 µs', pick: o => o.medianUs },
  map: { args: ['map', '100000'], unit: 'items/s', target: '≥ mp.Pool', pick: o => o.perSecond },
  flood: { args: ['flood', '20000'], unit: 'tasks/s', target: '≥ 100 000/s', pick: o => o.perSecond },
  tree: { args: ['tree', '11'], unit: 'tasks/s', target: '≥ 50 000/s', pick: o => o.perSecond },
  pi: { args: ['pi', '200', '200000'], unit: '×', target: '≥ 1.9×', pick: o => o.speedUp },
  bigmap: { args: ['bigmap', '10000000'], unit: 'MB peak RSS', target: '≤ 200 MB', pick: o => o.peakRssMb, reps: 1 }
}

const only = opts.only?.split(',') ?? Object.keys(TARGETS)
const median = xs => [...xs].sort((a, b) => a - b)[xs.length >> 1]

/** The workloads and the task modules they import, copied into another build's tree (kept up to date) so that they import that build. */
function workloadIn (root) {
  const path = join(root, 'bench', 'profile', 'workloads.mjs')
  if (path !== join(HERE, 'workloads.mjs')) {
    for (const file of ['profile/workloads.mjs', 'scripts/tasks.mjs', 'scripts/mesh-tasks.mjs']) {
      mkdirSync(dirname(join(root, 'bench', file)), { recursive: true })
      copyFileSync(join(HERE, '..', file), join(root, 'bench', file))
    }
  }
  return path
}

function runOnce (root, target) {
  // As a command, as `npx scoop-node` runs it (its #! line gives node its options), this node first on PATH.
  const cli = join(root, 'bin', 'scoop-node.js')
  const args = ['-n', peers, ...(target.extra ?? []), workloadIn(root), ...target.args]
  const t = process.hrtime.bigint()
  const PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`
  const r = spawnSync(cli, args, { cwd: root, encoding: 'utf8', env: { ...process.env, PATH, BENCH_PEERS: peers }, timeout: 600_000 })
  const ms = Number(process.hrtime.bigint() - t) / 1e6
  if (r.status !== 0) throw new Error(`${cli} ${args.join(' ')} failed (${r.status}): ${r.stderr}`)
  const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}')
  return { value: target.pick(out, ms), out }
}

const results = new Map()
for (const name of only) {
  const target = TARGETS[name]
  if (target == null) throw new Error(`unknown target ${name}; known: ${Object.keys(TARGETS).join(', ')}`)
  for (let rep = 0; rep < (target.reps ?? reps); rep++) {
    for (const root of roots) {
      const { value, out } = runOnce(root, target)
      process.stderr.write(`${name} ${root}: ${value.toFixed(2)} ${target.unit} ${JSON.stringify(out)}\n`)
      const key = `${name}\t${root}`
      results.set(key, [...(results.get(key) ?? []), value])
    }
  }
}

console.log(`\n| target | ${roots.join(' | ')} | goal |`)
console.log(`| --- | ${roots.map(() => '---').join(' | ')} | --- |`)
for (const name of only) {
  const t = TARGETS[name]
  const cells = roots.map(root => {
    const xs = results.get(`${name}\t${root}`)
    const fmt = v => (v >= 100 ? Math.round(v).toLocaleString('en') : v.toFixed(2))
    return `${fmt(median(xs))} ${t.unit} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`
  })
  console.log(`| ${name} | ${cells.join(' | ')} | ${t.target} |`)
}
