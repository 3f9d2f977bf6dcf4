// The claim table an executor shares with its host: whichever side takes an offered task first
// runs it, so a task never runs twice (bench/profile/README.md: why the executor runs its own).
import { strict as assert } from 'node:assert'
import { TaskClaims } from '../../src/runtime/task-claims.js'

describe('runtime/TaskClaims', () => {
  it('lets one side take an offered task, once', () => {
    const executor = TaskClaims.create()
    const host = new TaskClaims(executor.buffer)
    assert.equal(executor.offer(7), true)
    assert.equal(host.taken(7), false)
    assert.equal(host.take(7), true)
    assert.equal(executor.take(7), false, 'taken by the host: the executor skips it')
    assert.equal(executor.taken(7), true)
  })

  it('takes nothing that was not offered', () => {
    const claims = TaskClaims.create()
    assert.equal(claims.take(3), false)
  })

  it('does not offer a task whose slot an untaken older one holds, and reuses the slot once it is taken', () => {
    const claims = TaskClaims.create()
    const slots = 1 << 18
    assert.equal(claims.offer(5), true)
    assert.equal(claims.offer(5 + slots), false, 'task 5 is not taken yet: its slot is busy')
    assert.equal(claims.take(5), true)
    assert.equal(claims.offer(5 + slots), true)
    assert.equal(claims.taken(5), true, 'an old task stays taken when its slot is reused')
    assert.equal(claims.take(5 + slots), true)
  })

  it('counts the own tasks the executor is running, for the host', () => {
    const executor = TaskClaims.create()
    const host = new TaskClaims(executor.buffer)
    executor.addRunning(1)
    executor.addRunning(1)
    executor.addRunning(-1)
    assert.equal(host.running, 1)
  })
})
