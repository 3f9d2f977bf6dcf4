// The same launcher and embedded runs on Node 22 (the machine's Node is 20). .ci/run installs
// Node 22 from the npm registry into .ci/node22; elsewhere set SCOOP_TEST_NODE22 to a node 22
// binary, or this suite is skipped (and says so).
import { strict as assert } from 'node:assert'
import { existsSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { CLI, ROOT, example, fixture, runWith } from '../helpers/run.js'

const candidate = process.env.SCOOP_TEST_NODE22 ?? join(ROOT, '.ci', 'node22', 'node_modules', '.bin', 'node')
const node22 = existsSync(candidate) && /^v2[2-9]\./.test(spawnSync(candidate, ['--version'], { encoding: 'utf8' }).stdout ?? '') ? candidate : undefined

describe('Node 22', function () {
  before(function () {
    if (node22 === undefined) {
      process.stdout.write('      (skipped: no Node 22 binary; .ci/run installs one into .ci/node22, or set SCOOP_TEST_NODE22)\n')
      this.skip()
    }
  })

  it('runs the futures API fixture on the launcher', async () => {
    const r = await runWith(node22!, [CLI, '-n', '2', fixture('api.ts')], { timeout: 90_000 })
    assert.equal(r.code, 0, r.stderr)
    const line = r.stdout.split('\n').find(l => l.startsWith('REPORT '))
    const report = JSON.parse(line?.slice(7) ?? '{}')
    assert.deepEqual(report['map.array'], { value: [1, 4, 9, 16] })
    assert.deepEqual(report.mapScan, { value: [100, 500, 1400] })
    assert.equal(report['submit.remoteError'].error.name, 'RangeError')
    assert.deepEqual(r.leftovers, [])
  })

  it('runs a nested tree and the embedded default', async () => {
    const tree = await runWith(node22!, [CLI, '-n', '2', example('fullTree.ts'), '10'])
    assert.match(tree.stdout, /depth 10: 2047 tasks/)
    const embedded = await runWith(node22!, [example('submitAsCompleted.mjs')], { env: { SCOOP_WORKERS: '2' } })
    assert.equal(embedded.code, 0, embedded.stderr)
    assert.equal(embedded.stdout.trim().split('\n').length, 5)
    assert.deepEqual([...tree.leftovers, ...embedded.leftovers], [])
  })
})
