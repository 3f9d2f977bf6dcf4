// How far this machine lets Monte-Carlo pi scale, next to scoop-node in the same minutes: two
// bare Node processes, with no coordination at all, each computing half of the points, against
// one computing all of them; then `scoop-node -n 2 bench/profile/workloads.mjs pi` (the target's
// workload, which times its own serial run). Runs interleaved, medians at the end.
//   npm run build && node bench/profile/pi-ceiling.mjs [reps, default 5]
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

const HERE = fileURLToPath(new URL('.', import.meta.url))
const TASKS = 200
const TRIES = 200_000
const reps = Number(process.argv[2] ?? 5)

/** A bare process that computes `tasks` items and prints its compute time in ms. */
const bareArgs = tasks => ['--input-type=module', '-e',
  `import { piHits } from ${JSON.stringify(join(HERE, '..', 'scripts', 'tasks.mjs'))}
   const t = performance.now(); for (let i = 0; i < ${tasks}; i++) piHits(${TRIES}); console.log(performance.now() - t)`]

async function bareMs (tasks) {
  const child = spawn(process.execPath, bareArgs(tasks), { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', d => { out += d })
  await new Promise((resolve, reject) => { child.on('exit', code => { code === 0 ? resolve() : reject(new Error(`bare pi exited ${code}`)) }) })
  return Number(out)
}

function scoopNodePi () {
  const r = spawnSync(process.execPath, [join(HERE, '..', '..', 'bin', 'scoop-node.js'), '-n', '2', join(HERE, 'workloads.mjs'), 'pi', String(TASKS), String(TRIES)],
    { encoding: 'utf8', timeout: 120_000 })
  if (r.status !== 0) throw new Error(`scoop-node pi failed: ${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').pop()).speedUp
}

const bare = []
const scoop = []
for (let rep = 0; rep < reps; rep++) {
  const serial = await bareMs(TASKS)
  const halves = await Promise.all([bareMs(TASKS / 2), bareMs(TASKS / 2)])
  bare.push(serial / Math.max(...halves))
  scoop.push(scoopNodePi())
  process.stderr.write(`rep ${rep + 1}: bare processes ${bare.at(-1).toFixed(2)}× (serial ${serial.toFixed(0)} ms, halves ${halves.map(h => h.toFixed(0)).join(' and ')} ms); scoop-node ${scoop.at(-1).toFixed(2)}×\n`)
}
const median = xs => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const spread = xs => `${median(xs).toFixed(2)}× (${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)})`
console.log(`pi, ${TASKS} × ${TRIES} points, speed-up over one process, ${reps} runs each: two bare processes ${spread(bare)}; scoop-node -n 2 ${spread(scoop)}`)
