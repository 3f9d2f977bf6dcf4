// shared.setConst/getConst on a real 3-worker mesh.
import { strict as assert } from 'node:assert'
import { scoop, fixture, type RunResult } from '../helpers/run.js'

describe('shared constants on a 3-worker mesh (test/fixtures/shared.ts)', function () {
  let result: RunResult
  let report: Record<string, { value?: any, error?: { name: string, message: string } }>

  before(async function () {
    result = await scoop(3, fixture('shared.ts'), [], { env: { EXPECT_PEERS: '3' }, timeout: 90_000 })
    const line = result.stdout.split('\n').find(l => l.startsWith('REPORT '))
    assert.ok(line, `no report; exit ${result.code}\n${result.stderr}`)
    report = JSON.parse(line.slice('REPORT '.length))
  })

  it('exits 0 and leaves no process behind', () => {
    assert.equal(result.code, 0, result.stderr)
    assert.deepEqual(result.leftovers, [])
  })
  it('setConst defines constants that getConst reads, Maps included', () => {
    assert.deepEqual(report.setConst, { value: 'ok' })
    assert.deepEqual(report['getConst.local'], { value: 42 })
    assert.deepEqual(report['getConst.map'], { value: [[1, 'one']] })
  })
  it('every worker sees a constant in tasks submitted after setConst returned, also one set before it joined', () => {
    assert.deepEqual(report.seenByTasks, { value: { values: [42, 'before-join'], workers: 3 } })
    assert.deepEqual(report['setConst.fresh'], { value: ['b', 'b', 'b', 'b'] })
  })
  it('redefining a name fails with ConstantRedefinedError, and a failed setConst defines nothing', () => {
    assert.equal(report['redefine.origin'].error?.name, 'ConstantRedefinedError')
    assert.match(report['redefine.origin'].error?.message ?? '', /'alpha' is already defined/)
    assert.equal(report['redefine.partial'].error?.name, 'ConstantRedefinedError')
    assert.equal(report['partial.notDefined'].error?.name, 'ConstantNotFoundError')
  })
  it('any peer may set a constant; when several race, exactly one wins pool-wide', () => {
    const v = report.fromTask.value
    assert.deepEqual(v.outcomes, ['ConstantRedefinedError', 'ConstantRedefinedError', 'defined'])
    assert.ok([1, 2, 3].includes(v.value))
  })
  it('getConst of an unknown name rejects with ConstantNotFoundError after its timeout', () => {
    assert.deepEqual(report.missing.error, { name: 'ConstantNotFoundError', message: "shared.getConst('nope'): no constant of that name was defined within 300 ms" })
  })
  it('bad constants fail with named errors', () => {
    assert.equal(report.unencodable.error?.name, 'UnencodableValueError')
    assert.equal(report.empty.error?.name, 'InvalidArgumentError')
  })
})
