// Chaos on a long-lived mesh: rounds of runs in which a worker, the broker or the origin is
// killed with SIGKILL at a seeded random point of a map. Runs whose origin survives must give
// the right answer; after an origin's death the same workers serve the next run; nothing is
// left behind. Bounded in rounds and time; the seed is printed so a failure replays.
import { strict as assert } from 'node:assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run, fixture, CLI } from '../helpers/run.js'
import { LongLivedMesh } from '../helpers/mesh.js'
import { SeededRandom } from '../../src/sim/random.js'

const SEED = 20261123
const ROUNDS = 6
/** 400 items of 10 ms on 3 workers: over a second of map after MAPPING, so a kill 0-300 ms later always lands mid-run. */
const MAP_ITEMS = '400'
type Victim = 'worker' | 'broker' | 'origin'

const alive = (pid: number): boolean => {
  try { process.kill(pid, 0); return true } catch { return false }
}

describe(`chaos: kills at random points of runs on a long-lived mesh (seed ${SEED})`, function () {
  this.timeout(300_000)
  const dir = mkdtempSync(join(tmpdir(), 'scoop-chaos-'))
  const key = join(dir, 'mesh.key')
  let mesh: LongLivedMesh | undefined
  after(async () => {
    const left = await mesh?.stop()
    rmSync(dir, { recursive: true, force: true })
    assert.deepEqual(left ?? [], [], `processes left behind: ${(left ?? []).join(' ')}`)
  })

  it(`survives ${ROUNDS} rounds of kills: the worker, the broker or the origin`, async () => {
    assert.equal((await run([CLI, 'keygen', key])).code, 0)
    mesh = await LongLivedMesh.start(['--key', key, '--listen', '/ip4/127.0.0.1/tcp/0', '-n', '3'])
    const m = mesh
    await m.waitFor(() => m.workerPids.length === 3, 'three workers')
    const random = new SeededRandom(SEED)
    const kinds: Victim[] = ['worker', 'broker', 'origin']
    const survived: Record<Victim, number> = { worker: 0, broker: 0, origin: 0 }
    // Each kind of victim twice, in a seeded order (Fisher-Yates); each kill comes 0-300 ms after the map is under way.
    const plan = Array.from({ length: ROUNDS }, (_, k) => kinds[k % kinds.length])
    for (let k = plan.length - 1; k > 0; k--) {
      const j = random.int(k + 1)
      ;[plan[k], plan[j]] = [plan[j], plan[k]]
    }
    for (const [round, victim] of plan.entries()) {
      const delayMs = random.int(300)
      const livePids = m.workerPids.filter(alive)
      await m.waitFor(() => m.workerPids.filter(alive).length >= 3, 'three live workers', 60_000)
      let killed: number | undefined
      let landed = false
      const r = await run([CLI, '--key', key, '--join', m.address!, '--no-origin-tasks', fixture('meshRun.ts'), `chaos${round}`, '4', MAP_ITEMS, '10'], {
        timeout: 120_000,
        onStdout: (text, originPid) => {
          if (killed !== undefined || !text.includes('MAPPING')) return
          killed = victim === 'origin' ? originPid : (victim === 'broker' ? livePids[0] : livePids[1 + random.int(livePids.length - 1)])
          const target = killed
          setTimeout(() => {
            try { process.kill(target, 'SIGKILL'); landed = true } catch {}
          }, delayMs)
        }
      })
      assert.ok(killed !== undefined, `round ${round}: the map never got under way: ${r.stderr}`)
      assert.ok(landed, `round ${round}: the ${victim} ${killed} was gone before the kill (the run ended first)`)
      if (victim === 'origin') {
        assert.equal(r.signal, 'SIGKILL', `round ${round}: the origin was killed`)
      } else {
        assert.equal(r.code, 0, `round ${round} (${victim} ${killed} killed after ${delayMs} ms):\n${r.stdout}\n${r.stderr}`)
        const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '')
        assert.ok(out.ok && out.tagsOk && out.laterOk, `round ${round}: the right answer despite the ${victim}'s death`)
      }
      assert.deepEqual(r.leftovers, [], `round ${round}: the origin left processes behind`)
      survived[victim]++
    }
    // After all that, the mesh still serves a run.
    await m.waitFor(() => m.workerPids.filter(alive).length >= 3, 'three live workers', 60_000)
    const last = await run([CLI, '--key', key, '--join', m.address!, fixture('meshRun.ts'), 'after', '2', '20', '1'], { timeout: 120_000 })
    assert.equal(last.code, 0, last.stderr)
    process.stdout.write(`      kills survived: ${survived.worker} workers, ${survived.broker} brokers, ${survived.origin} origins\n`)
  })
})
