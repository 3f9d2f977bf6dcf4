// The scripts `npm run bench` runs (scoop-node's workloads and the peers) keep speaking its
// protocol: one JSON line with the figures and the peak RSS, or why a workload cannot run.
// Tiny sizes: this checks shapes, never speed.
import { strict as assert } from 'node:assert'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { run, runWith, CLI, ROOT } from '../helpers/run.js'

const WORKLOADS = join(ROOT, 'bench', 'scripts', 'workloads.mjs')
const peer = (file: string): string => join(ROOT, 'bench', 'peers', file)
const hasPython = spawnSync('python3', ['-c', 'import multiprocessing'], { stdio: 'ignore' }).status === 0

/** The run's last stdout line, parsed, after checking that the run succeeded. */
function lastLine (r: { code: number | null, stdout: string, stderr: string }): any {
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout.trim().split('\n').pop() as string)
}

describe('bench scripts (npm run bench)', function () {
  it('scoop-node: a generator map and a tree report time and the RSS of origin and worker', async () => {
    for (const args of [['stream', '2000'], ['tree', '3']]) {
      const out = lastLine(await run([CLI, '-n', '2', WORKLOADS, ...args]))
      assert.ok(out.ms > 0, JSON.stringify(out))
      assert.ok(out.rss.origin > 0 && out.rss.worker > 0, JSON.stringify(out))
    }
  })

  it('piscina and workerpool: a flood reports its time; workers are threads; a tree cannot run, with the reason', async () => {
    for (const file of ['piscina.mjs', 'workerpool.mjs']) {
      const flood = lastLine(await run([peer(file), 'flood', '20']))
      assert.ok(flood.ms > 0 && flood.rss.origin > 0 && flood.rss.worker === null, JSON.stringify(flood))
      assert.match(lastLine(await run([peer(file), 'tree', '3'])).cannotRun, /deadlock/)
    }
  })

  it('mp.Pool and ProcessPoolExecutor: round trip and generator map report figures and worker RSS', async function () {
    if (!hasPython) this.skip()
    for (const [kind, ...args] of [['mp', 'roundtrip', '20'], ['ppe', 'stream', '2000']]) {
      const out = lastLine(await runWith('python3', [peer('python_pool.py'), kind, ...args]))
      assert.ok((out.ms ?? out.medianUs) > 0 && out.rss.worker > 0, JSON.stringify(out))
    }
  })
})
