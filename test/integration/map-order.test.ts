// A map's chunks that the origin runs itself run in input order: its results reach a streaming
// consumer from the start. (Run newest first, the first result waited for nearly every item.)
import { strict as assert } from 'node:assert'
import { scoop, fixture } from '../helpers/run.js'

describe('futures.map run on the origin itself (test/fixtures/mapOrder.ts)', function () {
  it('runs its chunks in input order: the 20th result comes while most items are still to run', async () => {
    const r = await scoop(1, fixture('mapOrder.ts'), [], { timeout: 90_000 })
    assert.equal(r.code, 0, r.stderr)
    const report = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}')
    assert.equal(report.consumed, 300)
    assert.equal(report.itemsRun, 300)
    assert.ok(report.runWhenTwentiethConsumed >= 20 && report.runWhenTwentiethConsumed < 150,
      `${report.runWhenTwentiethConsumed} items had run when the 20th result was consumed`)
    assert.deepEqual(r.leftovers, [])
  })
})
