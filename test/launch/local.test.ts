import { strict as assert } from 'node:assert'
import { workerNodeOptions } from '../../src/launch/local.js'

describe('worker process options', () => {
  it('adds one V8 background thread, unless NODE_OPTIONS gives a pool size of its own (in either spelling)', () => {
    assert.deepEqual(workerNodeOptions(undefined), ['--v8-pool-size=1'])
    assert.deepEqual(workerNodeOptions('--max-old-space-size=4096 --enable-source-maps'), ['--v8-pool-size=1'])
    assert.deepEqual(workerNodeOptions('--enable-source-maps --v8-pool-size=8'), [])
    assert.deepEqual(workerNodeOptions('  --v8-pool-size 2 '), [])
  })
})
