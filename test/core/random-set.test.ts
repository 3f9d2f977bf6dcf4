import { strict as assert } from 'node:assert'
import { RandomSet } from '../../src/core/random-set.js'

describe('core/RandomSet', () => {
  it('adds, deletes and picks uniformly among what is left', () => {
    const set = new RandomSet<string>()
    for (const x of ['a', 'b', 'c', 'd']) set.add(x)
    set.add('a')
    assert.equal(set.size, 4)
    assert.equal(set.delete('b'), true)
    assert.equal(set.delete('b'), false)
    assert.deepEqual([...set].sort(), ['a', 'c', 'd'])
    assert.deepEqual([0, 0.34, 0.67].map(r => set.pick(() => r)).sort(), ['a', 'c', 'd'], 'each item owns a third of [0, 1)')
    assert.equal(new RandomSet<string>().pick(() => 0), undefined)
  })

  it('samples distinct items, all of them when asked for more, and stays intact', () => {
    const set = new RandomSet<number>()
    for (let i = 0; i < 20; i++) set.add(i)
    let r = 0
    const sample = set.sample(5, () => { r = (r + 0.61) % 1; return r })
    assert.equal(sample.length, 5)
    assert.equal(new Set(sample).size, 5)
    assert.equal(set.size, 20)
    for (const x of sample) assert.ok(set.has(x))
    assert.equal(set.delete(sample[0]), true, 'indexes stay right after the shuffle')
    assert.equal(set.has(sample[0]), false)
    assert.equal(set.size, 19)
    assert.deepEqual(set.sample(50, Math.random).sort((a, b) => a - b), [...set].sort((a, b) => a - b))
  })
})
