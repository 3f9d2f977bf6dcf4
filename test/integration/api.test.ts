// The futures API on a real 2-worker mesh (the origin and one worker process, on loopback).
import { strict as assert } from 'node:assert'
import { scoop, fixture, type RunResult } from '../helpers/run.js'

type Entry = { value?: any, error?: { name: string, message: string, peer?: string, stack?: string } }

describe('futures API on a 2-worker mesh (test/fixtures/api.ts)', function () {
  let result: RunResult
  let report: Record<string, Entry>

  before(async function () {
    result = await scoop(2, fixture('api.ts'), ['--flag', 'x y'], { timeout: 90_000 })
    const line = result.stdout.split('\n').find(l => l.startsWith('REPORT '))
    assert.ok(line, `no report; exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`)
    report = JSON.parse(line.slice('REPORT '.length))
  })

  const value = (name: string): any => {
    const entry = report[name]
    assert.ok(entry != null, `check ${name} missing`)
    assert.equal(entry.error, undefined, `${name} failed: ${JSON.stringify(entry.error)}`)
    return entry.value
  }
  const error = (name: string): NonNullable<Entry['error']> => {
    const entry = report[name]
    assert.ok(entry?.error != null, `${name} should have failed, got ${JSON.stringify(entry?.value)}`)
    return entry.error
  }

  it('exits 0 and leaves no process behind', () => {
    assert.equal(result.code, 0, result.stderr)
    assert.deepEqual(result.leftovers, [])
  })

  describe('map', () => {
    it('returns results in input order', () => { assert.deepEqual(value('map.array'), [1, 4, 9, 16]) })
    it('takes well-known builtins such as Math.abs', () => { assert.deepEqual(value('map.builtin'), [1, 2, 3]) })
    it('zips several iterables, the shortest wins', () => { assert.deepEqual(value('map.zip'), [11, 22, 33]) })
    it('maps an empty input to an empty array', () => { assert.deepEqual(value('map.empty'), []) })
    it('accepts generators', () => { assert.deepEqual(value('map.generator'), [0, 1, 4, 9, 16]) })
    it('streams results in order with for await', () => { assert.deepEqual(value('map.forAwait'), [25, 36, 49]) })
    it('runs async task functions', () => { assert.deepEqual(value('map.asyncFn'), [1, 4, 9]) })
    it('keeps 20 000 results in order', () => { assert.equal(value('map.many'), true) })
    it('raises a task\'s error when its result is reached', () => {
      assert.equal(error('map.errorInItem').message, 'item 3 is bad')
      assert.deepEqual(value('map.errorAfterValues'), { seen: [1, 2], error: 'item 3 is bad' })
    })
    it('consumes a 10-million-item generator lazily, with bounded work in flight', () => {
      const v = value('map.lazyGenerator')
      assert.equal(v.got, 1000)
      assert.equal(v.pulledBounded, true, `pulled ${v.pulled} items for 1000 results`)
      assert.equal(v.closed, true, 'the consumer\'s break closes the generator (its finally runs)')
    })
    it('closes its input generator when an item fails', () => {
      assert.deepEqual(value('map.errorClosesInput'), { error: 'item 3 is bad', closed: true })
    })
    it('mapAsCompleted yields in completion order', () => { assert.deepEqual(value('mapAsCompleted'), [4, 9, 1]) })
  })

  describe('mapReduce and mapScan', () => {
    it('fold from the left in input order (non-commutative concatenation)', () => {
      assert.equal(value('mapReduce.concat'), 'abcde')
      assert.deepEqual(value('mapScan.concat'), ['x', 'xy', 'xyz'])
    })
    it('mapScan gives the right prefixes (SCOOP gave [100, 400, 1400])', () => {
      assert.deepEqual(value('mapScan'), [100, 500, 1400])
    })
    it('mapReduce of one element returns it (SCOOP raised)', () => { assert.equal(value('mapReduce.one'), 49) })
    it('mapReduce of nothing rejects with a TypeError', () => { assert.equal(error('mapReduce.empty').name, 'TypeError') })
  })

  describe('submit and Future', () => {
    it('result() and await give the value', () => {
      assert.equal(value('submit.result'), 5)
      assert.equal(value('submit.await'), 81)
    })
    it('done/cancelled before and after', () => {
      assert.deepEqual(value('submit.states'), { before: { done: false, cancelled: false }, after: { done: true, running: false, cancelled: false }, value: 9 })
    })
    it('running() is true while the task runs', () => {
      assert.deepEqual(value('runningSeen'), { seen: true, afterRunning: false, done: true })
    })
    it('exception() returns the error, or undefined on success', () => {
      assert.deepEqual(value('submit.exception'), { ok: true, bad: 'RangeError', message: 'boom' })
    })
    it('a task\'s error keeps its name, message, remote stack and the peer it ran on', () => {
      for (const [name, errName, message] of [['submit.remoteError', 'RangeError', 'remote boom'], ['submit.customError', 'CustomError', 'custom failure'], ['submit.asyncError', 'TypeError', 'async failure']]) {
        const e = error(name)
        assert.equal(e.name, errName)
        assert.equal(e.message, message)
        assert.match(e.peer ?? '', /:\d+$/)
        assert.match(e.stack ?? '', /api\.ts/, 'the remote stack names the script')
      }
      assert.equal(value('submit.errorInstance'), true, 'builtin error classes are kept')
    })
    it('cancel() of a queued task: true, done, cancelled, rejects with CancelledError', () => {
      assert.deepEqual(value('cancel.pending'), { cancelled: true, isCancelled: true, done: true, running: false, error: 'CancelledError', again: true })
      assert.equal(value('cancel.finished'), false)
    })
    it('addDoneCallback: called once, at once when already done; a throwing callback is only logged', () => {
      assert.deepEqual(value('doneCallback'), [1, 2])
      assert.match(result.stderr, /done callback of square\(\) threw: callback failure is only logged/)
    })
  })

  describe('asCompleted and wait', () => {
    it('asCompleted yields the Future objects in completion order', () => {
      assert.deepEqual(value('asCompleted.yieldsFutures'), { allFutures: true, order: [1, 2, 0] })
    })
    it('wait FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED', () => {
      assert.deepEqual(value('wait.firstCompleted'), { firstDone: [1], notDone: 1 })
      assert.deepEqual(value('wait.firstException'), [1])
      assert.deepEqual(value('wait.all'), { done: 2, notDone: 0 })
      assert.equal(error('wait.badReturnWhen').name, 'InvalidArgumentError')
    })
  })

  describe('timeouts', () => {
    it('result, exception, map and asCompleted reject with a TimeoutError naming what timed out', () => {
      assert.deepEqual(error('timeout.result'), { ...error('timeout.result'), name: 'TimeoutError' })
      assert.match(error('timeout.result').message, /result\(\) of slowSquare\(\) timed out after 50 ms/)
      assert.match(error('timeout.exception').message, /exception\(\) of slowSquare\(\) timed out/)
      assert.equal(error('timeout.map').name, 'TimeoutError')
      assert.match(error('timeout.map').message, /futures\.map\(slowSquare\) timed out after 100 ms/)
      assert.equal(error('timeout.asCompleted').name, 'TimeoutError')
    })
    it('wait with a timeout returns what is done', () => { assert.deepEqual(value('timeout.wait'), { done: 1, notDone: 1 }) })
    it('an abort signal stops a wait', () => { assert.equal(error('signal.result').message, 'stopped by signal') })
    it('the mesh stays healthy after timeouts and errors', () => {
      assert.deepEqual(value('mesh.healthyAfterTimeouts'), [25, 36])
      assert.deepEqual(value('mesh.usableAfterErrors'), [9, 16])
    })
  })

  describe('bad input fails at the call with a named error', () => {
    it('closures, unexported and anonymous functions: FunctionReferenceError naming the function and the fix', () => {
      for (const [name, fn] of [['submit.closure', 'times'], ['map.closure', 'local']]) {
        const e = error(name)
        assert.equal(e.name, 'FunctionReferenceError')
        assert.match(e.message, new RegExp(`'${fn}' is not an export`))
        assert.match(e.message, /export function/)
      }
      assert.match(error('submit.anonymous').message, /anonymous function/)
    })
    it('arguments and results that cannot be encoded: UnencodableValueError naming the part', () => {
      assert.equal(error('submit.unencodableArg').name, 'UnencodableValueError')
      assert.match(error('submit.unencodableArg').message, /argument 1 of futures\.submit\(identity\)\.f is a function/)
      assert.match(error('submit.socketArg').message, /Socket instance/)
      assert.match(error('map.badArgInGenerator').message, /input item 2\) is a symbol/)
      assert.equal(error('submit.unencodableResult').name, 'UnencodableValueError')
    })
    it('non-iterable map inputs: InvalidArgumentError', () => {
      assert.equal(error('map.notIterable').name, 'InvalidArgumentError')
      assert.match(error('map.notIterable').message, /argument 2 is not iterable/)
    })
  })

  describe('scoop runtime info and argv', () => {
    it('reports origin, size, broker, peer id and addresses', () => {
      assert.deepEqual(value('info'), { isOrigin: true, size: 2, hasBroker: true, peerId: true, multiaddrs: true, workerName: true })
    })
    it('passes the script\'s arguments intact', () => { assert.deepEqual(value('argv'), ['--flag', 'x y']) })
  })
})
