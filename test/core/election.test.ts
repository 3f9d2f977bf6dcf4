import { strict as assert } from 'node:assert'
import { BrokerElection } from '../../src/core/election.js'
import { ConstStore } from '../../src/core/constants.js'
import { Deque } from '../../src/core/deque.js'
import { parseFrame } from '../../src/core/wire.js'

const peer = (id: string, startedAt: number) => ({ id, name: id, addrs: [`/ip4/127.0.0.1/tcp/1/p2p/${id}`], startedAt })

describe('core/BrokerElection', () => {
  it('names the longest-running live peer, the same on every peer, and a newcomer never displaces it', () => {
    const a = new BrokerElection(peer('A', 100), 3000)
    const b = new BrokerElection(peer('B', 200), 3000)
    assert.equal(b.broker.id, 'B', 'alone, a peer is its own broker')
    a.onPeerSeen(peer('B', 200), 0, 1)
    b.onPeerSeen(peer('A', 100), 0, 1)
    assert.equal(a.broker.id, 'A')
    assert.equal(b.broker.id, 'A')
    b.onPeerSeen(peer('C', 300), 0, 2)
    assert.equal(b.broker.id, 'A')
    assert.equal(b.size, 3)
  })

  it('moves the role when the broker leaves or its lease runs out; a new holder claims a higher epoch', () => {
    const c = new BrokerElection(peer('C', 300), 3000)
    c.onPeerSeen(peer('A', 100), 0, 0)
    c.onPeerSeen(peer('B', 200), 0, 2000)
    const epoch = c.epoch
    assert.deepEqual(c.onTick(3500), ['A'])
    assert.equal(c.broker.id, 'B')
    c.onClaim('B', epoch + 1, 3600)
    assert.deepEqual(c.takeAcks(), [{ to: 'B', epoch: epoch + 1 }])
    c.onPeerLeft('B', 4000)
    assert.equal(c.broker.id, 'C')
    assert.ok(c.isBroker, 'alone, it acts at once')
    assert.ok(c.epoch > epoch + 1, 'in an epoch above any it heard of')
  })
})

describe('core/BrokerElection: claims and acknowledgements', () => {
  /** Delivers every pending acknowledgement among these peers; returns how many went. */
  const deliverAcks = (peers: Map<string, BrokerElection>): number => {
    let sent = 0
    for (const [id, election] of peers) {
      for (const ack of election.takeAcks()) { peers.get(ack.to)?.onAck(id, ack.epoch, { from: id }); sent++ }
    }
    return sent
  }

  it('the named broker acts only once every peer of its view acknowledged its epoch', () => {
    const a = new BrokerElection(peer('A', 100), 3000)
    const b = new BrokerElection(peer('B', 200), 3000)
    assert.ok(a.isBroker && b.isBroker, 'alone, each is a mesh of its own and acts')
    a.onPeerSeen(peer('B', 200), 0, 1)
    b.onPeerSeen(peer('A', 100), 0, 1)
    assert.equal(a.isBroker, false, 'with a peer, A claims a new epoch and waits for its ack')
    assert.equal(b.isBroker, false)
    const epoch = a.claimedEpoch as number
    assert.ok(epoch > 1)
    b.onClaim('A', epoch, 2)
    assert.equal(deliverAcks(new Map([['A', a], ['B', b]])), 1)
    assert.ok(a.isBroker)
    assert.deepEqual([...a.claimReports.values()], [{ from: 'B' }], 'the ack carries its report')
  })

  it('a claim heard before the view names its claimant is held, and acknowledged once it does', () => {
    const b = new BrokerElection(peer('B', 200), 3000)
    b.onClaim('A', 5, 0)
    assert.deepEqual(b.takeAcks(), [], 'B does not know A yet')
    b.onPeerSeen(peer('A', 100), 0, 1)
    assert.deepEqual(b.takeAcks(), [{ to: 'A', epoch: 5 }])
  })

  it('two candidates never both act in the same epoch: a peer acknowledges one claimant per epoch', () => {
    // C has seen only B, so it backs B; then A (older) appears and claims the same epoch.
    const c = new BrokerElection(peer('C', 300), 3000)
    c.onPeerSeen(peer('B', 200), 0, 0)
    c.onClaim('B', 7, 1)
    assert.deepEqual(c.takeAcks(), [{ to: 'B', epoch: 7 }])
    c.onPeerSeen(peer('A', 100), 0, 2)
    c.onClaim('A', 7, 3)
    assert.deepEqual(c.takeAcks(), [], 'no second ack for epoch 7')
    c.onClaim('A', 8, 4)
    assert.deepEqual(c.takeAcks(), [{ to: 'A', epoch: 8 }], 'A gets it in a later epoch')
  })

  it('makes an unacknowledged claim again in a new epoch after the reclaim time', () => {
    const a = new BrokerElection(peer('A', 100), 3000, 1000)
    a.onPeerSeen(peer('B', 200), 0, 0)
    const first = a.claimedEpoch as number
    a.onPeerSeen(peer('B', 200), 0, 1500)
    a.onTick(1500)
    assert.ok((a.claimedEpoch as number) > first)
    assert.equal(a.isBroker, false)
  })
})

describe('core/ConstStore', () => {
  it('defines names once, all or nothing, and tracks the contiguous sequence', () => {
    const s = new ConstStore()
    const one = s.define([{ name: 'a', data: new Uint8Array([1]) }, { name: 'b', data: new Uint8Array([2]) }])
    assert.ok('entries' in one)
    assert.deepEqual(s.define([{ name: 'c', data: new Uint8Array() }, { name: 'a', data: new Uint8Array() }]), { duplicate: 'a' })
    assert.equal(s.has('c'), false, 'a failed definition defines nothing')
    const replica = new ConstStore()
    replica.add({ seq: 2, name: 'b', data: new Uint8Array([2]) })
    assert.equal(replica.contiguous, 0)
    replica.add({ seq: 1, name: 'a', data: new Uint8Array([1]) })
    assert.equal(replica.contiguous, 2)
    assert.deepEqual(s.after(1).map(e => e.name), ['b'])
  })
})

describe('core/Deque', () => {
  it('pops newest, shifts oldest, and grows', () => {
    const d = new Deque<number>()
    for (let i = 0; i < 40; i++) d.push(i)
    assert.equal(d.pop(), 39)
    assert.equal(d.shift(), 0)
    assert.deepEqual(d.removeWhere(x => x % 2 === 0).length, 19)
    assert.deepEqual([...d].slice(0, 3), [1, 3, 5])
    assert.equal(d.length, 19)
  })
})

describe('core/wire parseFrame', () => {
  it('accepts well-formed messages', () => {
    assert.equal(parseFrame([{ t: 'steal' }, { t: 'load', n: 3 }]).length, 2)
    assert.equal(parseFrame([{ t: 'steal', wait: true }, { t: 'steal', ahead: true }]).length, 2)
  })
  it('refuses non-lists, unknown kinds and wrong types', () => {
    assert.throws(() => parseFrame({ t: 'steal' }), { name: 'InvalidFrameError' })
    assert.throws(() => parseFrame([{ t: 'rm -rf' }]), { name: 'InvalidFrameError' })
    assert.throws(() => parseFrame([{ t: '__proto__' }]), { name: 'InvalidFrameError' })
    assert.throws(() => parseFrame([{ t: 'load', n: -1 }]), { name: 'InvalidFrameError' })
    assert.throws(() => parseFrame([{ t: 'result', seq: 1, ok: true, data: 'x', ms: 1 }]), { name: 'InvalidFrameError' })
    assert.throws(() => parseFrame([null]), { name: 'InvalidFrameError' })
    assert.throws(() => parseFrame([{ t: 'steal', ahead: 1 }]), { name: 'InvalidFrameError' })
  })
})
