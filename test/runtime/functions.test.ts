// A worker runs only what it resolves itself: an export of the run's module or a well-known
// builtin. Anything else a task names is refused with FunctionReferenceError, which the
// executor sends back to the task's owner as the task's error.
import { strict as assert } from 'node:assert'
import { FunctionRegistry } from '../../src/runtime/functions.js'

describe('runtime/FunctionRegistry', () => {
  const registry = new FunctionRegistry('file:///run/module.mjs')
  const square = (x: number): number => x * x
  registry.addNamespace({ square })

  it('resolves the run module\'s exports and well-known builtins', () => {
    assert.equal(registry.resolve('export:square'), square)
    assert.equal(registry.resolve('builtin:Math.abs'), Math.abs)
  })

  for (const forged of ['builtin:process.exit', 'builtin:eval', 'builtin:Function', 'export:constructor', 'export:__proto__', 'code:process.exit()', 'nonsense']) {
    it(`refuses '${forged}' with FunctionReferenceError`, () => {
      assert.throws(() => registry.resolve(forged), { name: 'FunctionReferenceError' })
    })
  }
})
