import { strict as assert } from 'node:assert'
import { ChunkSizer } from '../../src/core/chunking.js'
import { MAP_CHUNK_TARGET_MS } from '../../src/defaults.js'

describe('core/ChunkSizer', () => {
  it('probes with one-item chunks for every peer before it doubles the probe size', () => {
    const sizer = new ChunkSizer()
    const sizes = Array.from({ length: 9 }, () => sizer.next(1_000_000, 3))
    assert.deepEqual(sizes, [1, 1, 1, 2, 2, 2, 4, 4, 4])
  })

  it('cuts chunks of about MAP_CHUNK_TARGET_MS once one has been timed, smaller near the end', () => {
    const sizer = new ChunkSizer()
    sizer.next(1_000_000, 4)
    sizer.observe(2, 1) // 2 ms per item
    assert.equal(sizer.next(1_000_000, 4), MAP_CHUNK_TARGET_MS / 2)
    assert.equal(sizer.next(8, 4), 1, 'a few items left: one each, so every peer gets a share')
  })
})
