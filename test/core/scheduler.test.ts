import { strict as assert } from 'node:assert'
import { Scheduler, type LocalRuns, type SchedulerAction } from '../../src/core/scheduler.js'
import type { Task, WireMessage } from '../../src/core/wire.js'
import { LOAD_ADVERT_FANOUT, STEAL_BACKOFF_MIN_MS, STEAL_PROBES_BEFORE_BACKOFF } from '../../src/defaults.js'

const task = (owner: string, seq: number, constSeq = 0): Task =>
  ({ owner, seq, fn: 'export:f', payload: new Uint8Array([seq]), chunk: 0, constSeq })

const sends = (actions: SchedulerAction[], t?: string): Array<{ to: string, msg: WireMessage }> =>
  actions.flatMap(a => a.type === 'send' && (t === undefined || a.msg.t === t) ? [{ to: a.to, msg: a.msg }] : [])
const executed = (actions: SchedulerAction[]): number[] =>
  actions.flatMap(a => a.type === 'execute' ? [a.task.seq] : [])

describe('core/Scheduler', () => {
  it('runs its own tasks newest first (LIFO) and keeps the rest queued', () => {
    const s = new Scheduler({ self: 'A', executorSlots: 1 })
    s.submit(task('A', 1), 0)
    s.submit(task('A', 2), 0)
    s.submit(task('A', 3), 0)
    assert.deepEqual(executed(s.takeActions()), [1])
    s.onExecutorResult('A', 1, true, new Uint8Array(), 1, 1)
    const actions = s.takeActions()
    assert.deepEqual(executed(actions), [3], 'the newest queued task runs next')
    assert.ok(actions.some(a => a.type === 'resolve' && a.seq === 1))
  })

  it('gives a thief the oldest half of its queue and records where the tasks went', () => {
    const s = new Scheduler({ self: 'V', executorSlots: 1 })
    s.onPeerJoined('T', 0, 0)
    for (let i = 1; i <= 5; i++) s.submit(task('V', i), 0)
    s.takeActions()
    // 1 runs; 2..5 queued; a steal takes the oldest half: 2 and 3.
    s.onMessage('T', { t: 'steal' }, 1)
    const reply = sends(s.takeActions(), 'tasks')
    assert.equal(reply.length, 1)
    const msg = reply[0].msg as Extract<WireMessage, { t: 'tasks' }>
    assert.deepEqual(msg.tasks.map(t => t.seq), [2, 3])
    assert.equal(msg.load, 2)
    // The thief dies before answering: its tasks come back to the owner's queue.
    s.onPeerLeft('T', 2)
    assert.equal(s.load, 4)
    assert.equal(s.stats.requeued, 2)
  })

  it('a thief that does not know a task\'s owner yet hands it back to the giver, who queues it again and tells the owner', () => {
    // O owns tasks 1-4 and gives half to W1. W2 has just joined the run through W1 and has no
    // link to O yet: what it steals from W1 must not vanish (O would wait for it for ever).
    const o = new Scheduler({ self: 'O', executorSlots: 0 })
    const w1 = new Scheduler({ self: 'W1', executorSlots: 1 })
    const w2 = new Scheduler({ self: 'W2', executorSlots: 1 })
    o.onPeerJoined('W1', 0, 0)
    w1.onPeerJoined('O', 0, 0)
    for (let i = 1; i <= 4; i++) o.submit(task('O', i), 0)
    o.takeActions()
    o.onMessage('W1', { t: 'steal' }, 1)
    const toW1 = sends(o.takeActions(), 'tasks')[0].msg as Extract<WireMessage, { t: 'tasks' }>
    w1.onMessage('O', toW1, 1)
    w1.takeActions()
    w1.onPeerJoined('W2', 0, 2)
    w2.onPeerJoined('W1', 1, 2)
    assert.deepEqual(sends(w2.takeActions(), 'steal').map(x => x.to), ['W1'], 'W2 steals from W1, the member it knows')
    w1.onMessage('W2', { t: 'steal' }, 2)
    const w1Sent = w1.takeActions()
    const toW2 = sends(w1Sent, 'tasks').find(x => x.to === 'W2')?.msg as Extract<WireMessage, { t: 'tasks' }>
    assert.ok(toW2.tasks.length > 0, 'W1 gives W2 some of O\'s tasks')
    const movedToW2 = sends(w1Sent, 'moved').map(x => x.msg as Extract<WireMessage, { t: 'moved' }>)
    assert.deepEqual(movedToW2.map(m => m.to), ['W2'], 'and tells O they went to W2')
    o.onMessage('W1', movedToW2[0], 2)

    w2.onMessage('W1', toW2, 3)
    const w2Sent = w2.takeActions()
    assert.deepEqual(executed(w2Sent), [], 'W2 cannot run a task whose owner it cannot answer')
    const back = sends(w2Sent, 'tasks').find(x => x.to === 'W1')?.msg as Extract<WireMessage, { t: 'tasks' }>
    assert.equal(back?.back, true)
    assert.deepEqual(back.tasks.map(t => t.seq).sort(), toW2.tasks.map(t => t.seq).sort(), 'every one goes back to W1')

    const loadBefore = w1.load
    w1.onMessage('W2', back, 3)
    const w1Again = w1.takeActions()
    assert.equal(w1.load + executed(w1Again).length, loadBefore + back.tasks.length, 'W1 holds them again')
    const movedBack = sends(w1Again, 'moved')
    assert.deepEqual(movedBack.map(x => [x.to, (x.msg as Extract<WireMessage, { t: 'moved' }>).to]), [['O', 'W1']], 'and O learns they are at W1')
    // Should W1 now be lost, O runs them again: none is left waiting on W2.
    o.onMessage('W1', movedBack[0].msg, 4)
    o.onPeerJoined('W2', 0, 4)
    o.onPeerLeft('W1', 5)
    assert.equal(o.stats.requeued, toW1.tasks.length, 'every task W1 took from O, the one handed back included, comes back to O')
  })

  it('runs again a task whose "moved" notice names a thief already lost (the notice came after the loss)', () => {
    // O gave task 1 to W1, which gave it on to W2. W2 dies; O hears of the loss before W1's
    // "moved" notice, which then names a peer that is gone: the task must run again, not wait
    // for W2 for ever (a run that lost a host hung so).
    const o = new Scheduler({ self: 'O', executorSlots: 0 })
    o.onPeerJoined('W1', 0, 0)
    o.onPeerJoined('W2', 0, 0)
    o.submit(task('O', 1), 0)
    o.takeActions()
    o.onMessage('W1', { t: 'steal' }, 1)
    assert.deepEqual((sends(o.takeActions(), 'tasks')[0].msg as Extract<WireMessage, { t: 'tasks' }>).tasks.map(t => t.seq), [1])
    o.onPeerLeft('W2', 2)
    assert.equal(o.stats.requeued, 0, 'the task was at W1 as far as O knew')
    o.onMessage('W1', { t: 'moved', seqs: [1], to: 'W2' }, 3)
    assert.equal(o.stats.requeued, 1, 'queued again at the notice')
    // Queued here again: the next thief gets it.
    o.onMessage('W1', { t: 'steal' }, 4)
    assert.deepEqual((sends(o.takeActions(), 'tasks')[0].msg as Extract<WireMessage, { t: 'tasks' }>).tasks.map(t => t.seq), [1])
  })

  it('runs again a task whose giver died before the thief said it had it (lost in the giver\'s send buffer or on the wire)', () => {
    const o = new Scheduler({ self: 'O', executorSlots: 0 })
    const w1 = new Scheduler({ self: 'W1', executorSlots: 1 })
    for (const peer of ['W1', 'W2']) o.onPeerJoined(peer, 0, 0)
    for (const peer of ['O', 'W2']) w1.onPeerJoined(peer, 0, 0)
    for (let i = 1; i <= 8; i++) o.submit(task('O', i), 0)
    o.takeActions()
    o.onMessage('W1', { t: 'steal' }, 1)
    const toW1 = sends(o.takeActions(), 'tasks')[0].msg as Extract<WireMessage, { t: 'tasks' }>
    assert.equal(toW1.tasks.length, 4, 'half of the queue')
    w1.onMessage('O', toW1, 1)
    w1.takeActions()
    // W1 runs one and gives W2 some; its notice reaches O, its tasks never reach W2.
    w1.onMessage('W2', { t: 'steal' }, 2)
    const w1Sent = w1.takeActions()
    const notice = sends(w1Sent, 'moved').find(m => m.to === 'O')?.msg as Extract<WireMessage, { t: 'moved' }>
    const given = (sends(w1Sent, 'tasks').find(m => m.to === 'W2')?.msg as Extract<WireMessage, { t: 'tasks' }>).tasks.map(t => t.seq)
    assert.deepEqual(notice.seqs, given, 'O hears where they went')
    assert.ok(given.length > 0)
    o.onMessage('W1', notice, 3)
    o.onPeerLeft('W1', 4)
    assert.equal(o.stats.requeued, 4, 'what W1 held, and what W2 never said it had')

    // Had W2 said so (its notice names itself), W1's loss costs only W1's own task.
    const o2 = new Scheduler({ self: 'O', executorSlots: 0 })
    for (const peer of ['W1', 'W2']) o2.onPeerJoined(peer, 0, 0)
    for (let i = 1; i <= 8; i++) o2.submit(task('O', i), 0)
    o2.takeActions()
    o2.onMessage('W1', { t: 'steal' }, 1)
    const w2 = new Scheduler({ self: 'W2', executorSlots: 1 })
    for (const peer of ['O', 'W1']) w2.onPeerJoined(peer, 0, 0)
    const toW2 = sends(w1Sent, 'tasks').find(m => m.to === 'W2')?.msg as Extract<WireMessage, { t: 'tasks' }>
    w2.onMessage('W1', toW2, 3)
    const held = sends(w2.takeActions(), 'moved').find(m => m.to === 'O')?.msg as Extract<WireMessage, { t: 'moved' }>
    assert.deepEqual([held.to, held.seqs], ['W2', given], 'the thief tells the owner it has them')
    o2.onMessage('W1', notice, 3)
    o2.onMessage('W2', held, 4)
    o2.onPeerLeft('W1', 5)
    assert.equal(o2.stats.requeued, 4 - given.length, 'only what W1 itself held')
  })

  it('orders the "moved" notices of one task by its hops: a stale one does not undo a later move', () => {
    const o = new Scheduler({ self: 'O', executorSlots: 0 })
    for (const peer of ['W1', 'W2', 'W3']) o.onPeerJoined(peer, 0, 0)
    o.submit(task('O', 1), 0)
    o.takeActions()
    o.onMessage('W1', { t: 'steal' }, 1)
    const sent = (sends(o.takeActions(), 'tasks')[0].msg as Extract<WireMessage, { t: 'tasks' }>).tasks
    assert.equal(sent[0].hops, 1, 'the owner\'s own give is hop 1')
    // W1 gave it to W2 (hop 2), W2 to W3 (hop 3); W2's notice and W3's own word come first.
    o.onMessage('W2', { t: 'moved', seqs: [1], to: 'W3', hops: [3] }, 2)
    o.onMessage('W3', { t: 'moved', seqs: [1], to: 'W3', hops: [3] }, 2)
    o.onMessage('W1', { t: 'moved', seqs: [1], to: 'W2', hops: [2] }, 3)
    o.onPeerLeft('W2', 4)
    assert.equal(o.stats.requeued, 0, 'the task is at W3, which has it')
    o.onPeerLeft('W3', 5)
    assert.equal(o.stats.requeued, 1, 'lost with W3: queued again')
  })

  it('a task queued again after a loss is queued once, whatever late notices say of the lost copy', () => {
    const o = new Scheduler({ self: 'O', executorSlots: 0 })
    for (const peer of ['W1', 'W2']) o.onPeerJoined(peer, 0, 0)
    o.submit(task('O', 1), 0)
    o.takeActions()
    o.onMessage('W1', { t: 'steal' }, 1)
    o.takeActions()
    o.onPeerLeft('W1', 2)
    assert.equal(o.load, 1, 'queued again')
    // W1 had given it to W2 just before it died; W2 dies too.
    o.onMessage('W2', { t: 'moved', seqs: [1], to: 'W2', hops: [2] }, 3)
    o.onPeerLeft('W2', 4)
    assert.equal(o.load, 1, 'still one copy in the queue')
    assert.equal(o.stats.requeued, 1)
  })

  it('a task with retries runs again that many times after losing its worker, then is reported lost', () => {
    const s = new Scheduler({ self: 'O', executorSlots: 0 })
    s.submit(task('O', 1), 0, 1)
    for (const [thief, at] of [['T1', 1], ['T2', 3]] as const) {
      s.onPeerJoined(thief, 0, at)
      s.takeActions()
      s.onMessage(thief, { t: 'steal' }, at)
      assert.deepEqual(sends(s.takeActions(), 'tasks').map(x => x.to), [thief])
      s.onPeerLeft(thief, at + 1)
    }
    const lost = s.takeActions().filter(a => a.type === 'lost')
    assert.deepEqual(lost, [{ type: 'lost', seq: 1, peer: 'T2', retries: 1 }], 'one retry after T1, lost with T2')
    assert.equal(s.load, 0, 'not queued again')
  })

  it('refuses results and start notices for tasks it never gave away', () => {
    const s = new Scheduler({ self: 'O', executorSlots: 0 })
    s.onPeerJoined('X', 0, 0)
    s.submit(task('O', 1), 0)
    s.takeActions()
    s.onMessage('X', { t: 'started', owner: 'O', seqs: [1] }, 1)
    s.onMessage('X', { t: 'result', seq: 1, ok: true, data: new Uint8Array([6, 6, 6]), ms: 1 }, 2)
    assert.deepEqual(s.takeActions().filter(a => a.type === 'resolve' || a.type === 'started'), [], 'forged: nothing resolves')
    assert.equal(s.load, 1, 'the task is still queued here')
    s.onMessage('X', { t: 'steal' }, 3)
    s.takeActions()
    s.onMessage('X', { t: 'result', seq: 1, ok: true, data: new Uint8Array([1]), ms: 1 }, 4)
    assert.ok(s.takeActions().some(a => a.type === 'resolve' && a.seq === 1), 'once given away, its result is taken')
  })

  it('a leaving peer hands queued tasks back to their owners, finishes what runs, and steals no more', () => {
    // The owner gives T two tasks; T starts one, then leaves.
    const owner = new Scheduler({ self: 'O', executorSlots: 0 })
    owner.onPeerJoined('T', 0, 0)
    for (let i = 1; i <= 4; i++) owner.submit(task('O', i), 0)
    owner.takeActions()
    owner.onMessage('T', { t: 'steal' }, 1)
    const given = (sends(owner.takeActions(), 'tasks')[0].msg as Extract<WireMessage, { t: 'tasks' }>).tasks
    assert.deepEqual(given.map(t => t.seq), [1, 2])
    assert.equal(owner.load, 2)

    const thief = new Scheduler({ self: 'T', executorSlots: 1 })
    thief.onPeerJoined('O', 2, 0)
    thief.takeActions()
    thief.onMessage('O', { t: 'tasks', tasks: given, load: 2 }, 2)
    assert.deepEqual(executed(thief.takeActions()), [1], 'stolen tasks run oldest first')
    assert.equal(thief.idle, false)
    thief.leave(3)
    const returned = sends(thief.takeActions(), 'returned')
    assert.deepEqual(returned, [{ to: 'O', msg: { t: 'returned', seqs: [2] } }], 'the queued task goes back, not the running one')
    assert.equal(thief.load, 0)
    thief.onMessage('O', { t: 'load', n: 3 }, 4)
    thief.onExecutorResult('O', 1, true, new Uint8Array([4]), 1, 5)
    const done = thief.takeActions()
    assert.deepEqual(sends(done, 'result').map(x => x.to), ['O'], 'the running task finishes and reports')
    assert.deepEqual(sends(done, 'steal'), [], 'a leaving peer asks for no more work')
    assert.equal(thief.idle, true, 'nothing left: it may go')

    owner.onMessage('T', returned[0].msg, 6)
    assert.equal(owner.load, 3, 'the owner queues the returned task again')
    assert.equal(owner.stats.requeued, 1)
    owner.onMessage('T', { t: 'returned', seqs: [3, 4] }, 7)
    assert.equal(owner.load, 3, 'tasks the peer never held are not queued twice')
  })

  it('an idle peer steals from a peer that advertises work; answered empty-handed, it leaves a waiting request and does not poll', () => {
    const s = new Scheduler({ self: 'T', random: () => 0, executorSlots: 1 })
    s.onPeerJoined('V', 3, 10)
    assert.deepEqual(sends(s.takeActions(), 'steal').map(x => x.to), ['V'])
    s.onMessage('V', { t: 'tasks', tasks: [], load: 1 }, 11)
    const after = sends(s.takeActions(), 'steal')
    assert.deepEqual(after.map(x => x.msg), [{ t: 'steal', wait: true }], 'no immediate retry: one waiting request')
    assert.equal(s.nextWakeup(), undefined, 'a mesh this small hears every advert: no polling')
    s.onMessage('V', { t: 'load', n: 2 }, 12)
    assert.deepEqual(sends(s.takeActions(), 'steal').map(x => x.msg), [{ t: 'steal' }], 'news of work: it asks again')
  })

  it('answered empty-handed, an idle peer asks another peer known to have work at once', () => {
    const s = new Scheduler({ self: 'T', random: () => 0, executorSlots: 1 })
    s.onPeerJoined('V1', 3, 0)
    s.onPeerJoined('V2', 3, 0)
    assert.deepEqual(sends(s.takeActions(), 'steal').map(x => x.to), ['V1'])
    s.onMessage('V1', { t: 'tasks', tasks: [], load: 0 }, 1)
    assert.deepEqual(sends(s.takeActions(), 'steal').map(x => [x.to, x.msg]), [['V2', { t: 'steal' }]])
  })

  it('keeps a waiting steal request and answers it as soon as work arrives', () => {
    const v = new Scheduler({ self: 'V', executorSlots: 1 })
    v.onPeerJoined('T', 0, 0)
    v.takeActions()
    v.onMessage('T', { t: 'steal', wait: true }, 1)
    assert.equal(sends(v.takeActions(), 'tasks').length, 0, 'nothing to give: the request waits')
    v.submit(task('V', 1), 2) // runs here at once
    v.submit(task('V', 2), 2) // stays queued while the executor is busy: goes to the waiting thief
    const given = sends(v.takeActions(), 'tasks')
    assert.deepEqual(given.map(x => [x.to, (x.msg as any).tasks.map((t: Task) => t.seq)]), [['T', [2]]])
  })

  it('a peer that runs no tasks (executorSlots 0) gives away even its only task', () => {
    const o = new Scheduler({ self: 'O', executorSlots: 0 })
    o.onPeerJoined('W', 0, 0)
    o.submit(task('O', 1), 0)
    assert.deepEqual(executed(o.takeActions()), [])
    o.onMessage('W', { t: 'steal' }, 1)
    assert.equal((sends(o.takeActions(), 'tasks')[0].msg as any).tasks.length, 1)
  })

  it('runs stolen tasks, tells their owner they started, and sends the result straight to the owner', () => {
    const s = new Scheduler({ self: 'T', random: () => 0, executorSlots: 1 })
    s.onPeerJoined('O', 2, 0)
    s.takeActions()
    s.onMessage('O', { t: 'tasks', tasks: [task('O', 7)], load: 1 }, 1)
    const actions = s.takeActions()
    assert.deepEqual(executed(actions), [7])
    assert.deepEqual(sends(actions, 'started'), [], 'a short task reports only its result')
    const due = s.nextWakeup()
    assert.ok(due !== undefined)
    s.onTick(due)
    assert.deepEqual(sends(s.takeActions(), 'started').map(x => x.msg), [{ t: 'started', owner: 'O', seqs: [7] }], 'a longer one says it started')
    s.onExecutorResult('O', 7, true, new Uint8Array([42]), 3, due + 1)
    const result = sends(s.takeActions(), 'result')
    assert.equal(result[0].to, 'O')
    assert.deepEqual((result[0].msg as any).data, new Uint8Array([42]))
  })

  it('delivers the first result of a task and drops duplicates', () => {
    const s = new Scheduler({ self: 'O', executorSlots: 1 })
    s.onPeerJoined('X', 0, 0)
    s.submit(task('O', 1), 0)
    s.submit(task('O', 2), 0)
    s.onMessage('X', { t: 'steal' }, 0) // 1 runs here, X gets 2
    s.takeActions()
    s.onMessage('X', { t: 'result', seq: 2, ok: true, data: new Uint8Array([1]), ms: 1 }, 1)
    s.onMessage('X', { t: 'result', seq: 2, ok: true, data: new Uint8Array([2]), ms: 1 }, 2)
    const resolves = s.takeActions().filter(a => a.type === 'resolve')
    assert.deepEqual(resolves.map(a => a.type === 'resolve' && [a.seq, a.data[0]]), [[2, 1]], 'the first result, once')
  })

  it('cancels a queued task locally, and asks the peer holding a stolen one to drop it', () => {
    const s = new Scheduler({ self: 'O', executorSlots: 1 })
    s.onPeerJoined('X', 0, 0)
    for (let i = 1; i <= 4; i++) s.submit(task('O', i), 0)
    s.onMessage('X', { t: 'steal' }, 0) // 1 runs; 2..4 queued; X gets 2
    s.takeActions()
    assert.equal(s.cancel(4, 1), true)
    assert.equal(s.cancel(2, 1), true)
    assert.deepEqual(sends(s.takeActions(), 'cancel').map(x => [x.to, (x.msg as any).seq]), [['X', 2]])
    assert.equal(s.cancel(1, 1), false, 'a running task cannot be cancelled')
    // The thief drops it from its queue when told.
    const t = new Scheduler({ self: 'X', executorSlots: 1 })
    t.onPeerJoined('O', 0, 0)
    t.submit(task('X', 1), 0) // keeps X's executor busy, so stolen tasks stay queued
    t.onMessage('O', { t: 'tasks', tasks: [task('O', 2), task('O', 3)], load: 0 }, 0)
    t.onMessage('O', { t: 'cancel', seq: 2 }, 1)
    assert.equal(t.load, 1)
  })

  it('holds a task until the shared constants it was submitted after have arrived', () => {
    const s = new Scheduler({ self: 'T', executorSlots: 1 })
    s.onPeerJoined('O', 0, 0)
    s.onMessage('O', { t: 'tasks', tasks: [task('O', 1, 3)], load: 0 }, 0)
    const actions = s.takeActions()
    assert.deepEqual(executed(actions), [])
    assert.ok(actions.some(a => a.type === 'fetchConsts'))
    s.onConstsKnown(2, 1)
    assert.deepEqual(executed(s.takeActions()), [])
    s.onConstsKnown(3, 2)
    assert.deepEqual(executed(s.takeActions()), [1])
  })

  it('a task that yields the executor (awaits) lets the next one start', () => {
    const s = new Scheduler({ self: 'A', executorSlots: 1 })
    s.submit(task('A', 1), 0)
    s.submit(task('A', 2), 0)
    assert.deepEqual(executed(s.takeActions()), [1])
    s.onExecutorYield('A', 1, 1)
    assert.deepEqual(executed(s.takeActions()), [2])
  })

  it('tells its peers when its queue turns non-empty and empty again', () => {
    const s = new Scheduler({ self: 'A', executorSlots: 1 })
    s.onPeerJoined('B', 0, 0)
    s.takeActions()
    s.submit(task('A', 1), 0)
    s.submit(task('A', 2), 0)
    assert.deepEqual(sends(s.takeActions(), 'load').map(x => (x.msg as any).n), [1])
    s.onExecutorResult('A', 1, true, new Uint8Array(), 1, 1) // 1 ran at once; 2 starts now
    assert.deepEqual(sends(s.takeActions(), 'load').map(x => (x.msg as any).n), [0])
  })

  it('quarantines a task lost with 3 peers instead of re-queueing it again', () => {
    const o = new Scheduler({ self: 'O', executorSlots: 0 })
    o.submit(task('O', 1), 0)
    for (const [k, peer] of ['W1', 'W2', 'W3'].entries()) {
      o.onPeerJoined(peer, 0, k)
      o.onMessage(peer, { t: 'steal' }, k)
      assert.equal((sends(o.takeActions(), 'tasks')[0].msg as any).tasks.length, 1, `${peer} takes the task`)
      o.onPeerLeft(peer, k)
    }
    const quarantined = o.takeActions().filter(a => a.type === 'quarantined')
    assert.deepEqual(quarantined, [{ type: 'quarantined', seq: 1, lastPeer: 'W3', losses: 3 }])
    assert.equal(o.load, 0, 'not queued again')
    assert.equal(o.stats.requeued, 2)
  })

  describe('in a mesh bigger than LOAD_ADVERT_FANOUT', () => {
    const many = Array.from({ length: LOAD_ADVERT_FANOUT + 4 }, (_, i) => `P${i}`)

    it('tells only LOAD_ADVERT_FANOUT random peers when its queue turns non-empty, and the same ones when it empties', () => {
      let draws = 0
      // Varied draws, so the sample is not simply the first peers joined.
      const s = new Scheduler({ self: 'A', random: () => (draws++ * 0.37) % 1, executorSlots: 1 })
      for (const p of many) s.onPeerJoined(p, 0, 0)
      s.submit(task('A', 1), 0)
      s.takeActions()
      s.submit(task('A', 2), 1)
      const told = sends(s.takeActions(), 'load')
      assert.equal(told.length, LOAD_ADVERT_FANOUT)
      assert.equal(new Set(told.map(x => x.to)).size, LOAD_ADVERT_FANOUT, 'distinct peers')
      assert.ok(told.every(x => (x.msg as any).n === 1))
      s.onExecutorResult('A', 1, true, new Uint8Array(), 1, 2) // task 2 leaves the queue for the executor
      const emptied = sends(s.takeActions(), 'load')
      assert.deepEqual(emptied.map(x => x.to), told.map(x => x.to))
      assert.ok(emptied.every(x => (x.msg as any).n === 0))
    })

    it('an idle peer that knows of no work asks random peers, and backs off, doubling, while they answer empty-handed', () => {
      const s = new Scheduler({ self: 'T', random: () => 0.5, executorSlots: 1 })
      for (const p of many) s.onPeerJoined(p, 0, 0)
      let now = 0
      let pending = sends(s.takeActions(), 'steal')
      assert.deepEqual(pending.map(x => x.msg), [{ t: 'steal', wait: true }, { t: 'steal' }], 'one waiting request, and one random probe')
      pending = pending.slice(1)
      /** Answers the pending probes empty-handed, and returns the steal requests that follow. */
      const answerEmpty = (): Array<{ to: string, msg: WireMessage }> => {
        for (const probe of pending) s.onMessage(probe.to, { t: 'tasks', tasks: [], load: 0 }, now)
        pending = sends(s.takeActions(), 'steal')
        return pending
      }
      for (let k = 1; k < STEAL_PROBES_BEFORE_BACKOFF; k++) assert.equal(answerEmpty().length, 1, 'asks another random peer at once')
      assert.deepEqual(answerEmpty(), [], 'enough empty answers: it waits')
      assert.equal(s.nextWakeup(), now + STEAL_BACKOFF_MIN_MS)
      now += STEAL_BACKOFF_MIN_MS
      s.onTick(now)
      pending = sends(s.takeActions(), 'steal')
      assert.deepEqual(pending.map(x => x.msg), [{ t: 'steal' }], 'asks again after the wait')
      for (let k = 1; k < STEAL_PROBES_BEFORE_BACKOFF; k++) answerEmpty()
      assert.deepEqual(answerEmpty(), [])
      assert.equal(s.nextWakeup(), now + 2 * STEAL_BACKOFF_MIN_MS, 'the wait doubles')
      s.onMessage('P3', { t: 'load', n: 4 }, now)
      assert.deepEqual(sends(s.takeActions(), 'steal').map(x => [x.to, x.msg]), [['P3', { t: 'steal' }]], 'news of work ends the wait')
    })
  })

  it('a busy peer with nothing queued steals ahead; a victim keeps its last task for an idle thief', () => {
    const v = new Scheduler({ self: 'V', executorSlots: 1 })
    v.onPeerJoined('T', 0, 0)
    v.submit(task('V', 1), 0) // runs
    v.submit(task('V', 2), 0) // queued
    v.takeActions()
    v.onMessage('T', { t: 'steal', ahead: true }, 1)
    assert.deepEqual(sends(v.takeActions(), 'tasks').map(x => x.msg), [{ t: 'tasks', tasks: [], load: 1 }], 'not its last task to a busy thief')
    v.onMessage('T', { t: 'steal' }, 2)
    assert.deepEqual(sends(v.takeActions(), 'tasks').map(x => (x.msg as any).tasks.map((t: Task) => t.seq)), [[2]], 'an idle thief gets it')

    const t = new Scheduler({ self: 'T', random: () => 0, executorSlots: 2 })
    t.submit(task('T', 1), 0) // runs; nothing queued, a slot free
    t.onPeerJoined('V', 1, 0)
    assert.deepEqual(sends(t.takeActions(), 'steal').map(x => x.msg), [{ t: 'steal', ahead: true }])
    t.onMessage('V', { t: 'tasks', tasks: [], load: 1 }, 1)
    assert.deepEqual(sends(t.takeActions(), 'steal'), [], 'refused ahead: no second try while the task runs')
    t.onExecutorResult('T', 1, true, new Uint8Array(), 1, 2)
    assert.deepEqual(sends(t.takeActions(), 'steal').map(x => [x.to, x.msg]), [['V', { t: 'steal' }]], 'idle now: it asks for the last task')
  })

  describe('tasks the executor runs itself (LocalRuns)', () => {
    /** A claim table in plain memory: the first take of a seq wins. */
    const claims = (): LocalRuns & { taken: (seq: number) => boolean, takenSeqs: Set<number> } => {
      const takenSeqs = new Set<number>()
      return {
        takenSeqs,
        running: 0,
        take: seq => { if (takenSeqs.has(seq)) return false; takenSeqs.add(seq); return true },
        taken: seq => takenSeqs.has(seq)
      }
    }

    it('leaves offered tasks to the executor, and gives a thief only the oldest ones the executor has not taken', () => {
      const runs = claims()
      const s = new Scheduler({ self: 'O', executorSlots: 1 })
      s.useLocalRuns(runs)
      s.onPeerJoined('T', 0, 0)
      s.submitAll([1, 2, 3, 4, 5, 6].map(seq => ({ task: task('O', seq), offered: true })), 0)
      assert.deepEqual(executed(s.takeActions()), [], 'not handed to the executor: it runs them itself')
      assert.equal(s.load, 6)
      runs.take(6) // the executor runs the newest first...
      runs.take(2) // ...and took one more (cancelled, say)
      s.onMessage('T', { t: 'steal' }, 1)
      const given = sends(s.takeActions(), 'tasks').map(x => (x.msg as Extract<WireMessage, { t: 'tasks' }>).tasks.map(t => t.seq))
      assert.deepEqual(given, [[1, 3]], 'half of the five untaken, oldest first, skipping the one taken')
      assert.ok(runs.taken(1) && runs.taken(3), 'the scheduler took them: the executor will skip them')
    })

    it('counts a result the executor settled itself, without handing it back', () => {
      const runs = claims()
      const s = new Scheduler({ self: 'O', executorSlots: 1 })
      s.useLocalRuns(runs)
      s.submitAll([{ task: task('O', 1), offered: true }], 0)
      s.takeActions()
      runs.take(1)
      s.onLocalResults([{ seq: 1, ok: true, data: new Uint8Array(), ms: 2 }], 1)
      const resolved = s.takeActions().filter(a => a.type === 'resolve')
      assert.deepEqual(resolved.map(a => a.type === 'resolve' && [a.seq, a.settled]), [[1, true]])
      assert.equal(s.stats.executed, 1)
      assert.equal(s.idle, true)
    })

    it('a thief that gets work of its own withdraws the request it left waiting', () => {
      const v = new Scheduler({ self: 'V', executorSlots: 1 })
      v.onPeerJoined('T', 0, 0)
      v.onMessage('T', { t: 'steal', wait: true }, 0)
      v.takeActions()
      v.onMessage('T', { t: 'load', n: 3 }, 1)
      v.submit(task('V', 1), 2)
      v.submit(task('V', 2), 2)
      v.submit(task('V', 3), 2)
      assert.deepEqual(sends(v.takeActions(), 'tasks'), [], 'no work sent to a thief that has its own')
    })

    it('a thief that gives work withdraws the request it left waiting (no ping-pong of its own tasks)', () => {
      // O waited for work at W, then got a flood of its own and W stole some of it: W must not
      // answer O's old request with O's own tasks (they crossed the network twice, 80 ms late).
      const w = new Scheduler({ self: 'W', executorSlots: 1 })
      w.onPeerJoined('O', 0, 0)
      w.onMessage('O', { t: 'steal', wait: true }, 0)
      w.takeActions()
      w.onMessage('O', { t: 'tasks', tasks: [1, 2, 3, 4, 5, 6].map(seq => task('O', seq)), load: 100 }, 1)
      const actions = w.takeActions()
      assert.deepEqual(sends(actions, 'tasks'), [], 'none of O\'s tasks sent back to it')
      assert.ok(executed(actions).length > 0, 'W runs what it stole')
    })

    it('an empty answer does not withdraw the request its sender left waiting, whatever load it reports', () => {
      // O answers W's steal empty-handed (its one task is for its own free executor) while its own
      // request waits at W: dropped, O would wait for an answer that never comes.
      const w = new Scheduler({ self: 'W', executorSlots: 1 })
      w.onPeerJoined('O', 0, 0)
      w.onMessage('O', { t: 'steal', wait: true }, 0)
      w.takeActions()
      w.onMessage('O', { t: 'tasks', tasks: [], load: 1 }, 1)
      w.submit(task('W', 1), 2) // runs here at once
      w.submit(task('W', 2), 2) // queued while the executor is busy: goes to the waiting O
      assert.deepEqual(sends(w.takeActions(), 'tasks').map(x => x.to), ['O'])
    })
  })
})
