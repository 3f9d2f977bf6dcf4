// A run's shared constants when the broker role moves before the named broker acts: a peer that
// briefly names itself broker (a newcomer that has not yet heard of older peers) must not keep
// setConst requests for ever once the role goes elsewhere (a run hung so in its first setConst).
import { strict as assert } from 'node:assert'
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import { RunSpace, type RunHost } from '../../src/runtime/run-space.js'
import { BatchedPort, onBatches, type ExecutorToHost, type HostToExecutor } from '../../src/runtime/thread-messages.js'
import type { PeerId, WireMessage } from '../../src/core/wire.js'

/** A fake host: `broker` names the broker, which never acts (its claim is unacknowledged). */
function fakeHost (self: PeerId): RunHost & { broker: PeerId, sent: Array<{ to: PeerId, msg: WireMessage }>, brokerAsked: Promise<void> } {
  let asked!: () => void
  const host = {
    selfId: self,
    broker: self,
    sent: [] as Array<{ to: PeerId, msg: WireMessage }>,
    brokerAsked: new Promise<void>(resolve => { asked = resolve }),
    send: (to: PeerId, msg: WireMessage) => { host.sent.push({ to, msg }) },
    publish: () => {},
    subscribe: () => {},
    unsubscribe: () => {},
    linkedPeers: () => [],
    brokerId: () => { asked(); return host.broker },
    isBroker: () => false,
    meshInfo: () => ({ peerId: self, multiaddrs: [], workerName: self, brokerName: host.broker, brokerAddress: '' }),
    peerName: (peer: PeerId) => peer,
    onExecutorShutdown: () => {},
    onTaskDone: () => {}
  }
  return host
}

/** The executor's side of the port: what it posts, and the setConst replies it receives. */
function fakeExecutor (port: MessagePort): { post: (msg: ExecutorToHost) => void, replies: Array<{ req: number, error: string }> } {
  const out = new BatchedPort<ExecutorToHost>(port)
  const replies: Array<{ req: number, error: string }> = []
  onBatches<HostToExecutor>(port, batch => {
    for (const msg of batch) if (msg.k === 'setConstReply') replies.push({ req: msg.req, error: msg.error })
  })
  return { post: msg => { out.post(msg) }, replies }
}

describe('runtime/RunSpace: shared constants', () => {
  const ports: MessagePort[] = []
  afterEach(() => { for (const port of ports.splice(0)) port.close() })

  it('sends its own setConst, deferred while it named itself broker, to the broker named next', async () => {
    const host = fakeHost('origin')
    const channel = new MessageChannel()
    ports.push(channel.port1, channel.port2)
    const run = new RunSpace('r1', undefined, host)
    run.attachExecutor({ port: channel.port1, terminate: () => {} })
    const executor = fakeExecutor(channel.port2)

    executor.post({ k: 'setConst', req: 1, entries: [{ name: 'tag', data: new Uint8Array([1]) }] })
    await host.brokerAsked
    assert.equal(host.sent.length, 0, 'named broker but not acting: the request waits here')

    host.broker = 'older'
    run.onBrokerSeen('older')
    const asked = host.sent.filter(s => s.msg.t === 'setConst')
    assert.deepEqual(asked.map(s => s.to), ['older'], 'the request goes to the new broker')
    assert.equal((asked[0].msg as Extract<WireMessage, { t: 'setConst' }>).req, 1)

    run.onMessages('older', [{ t: 'setConstReply', req: 1, seqs: [1], error: '' }])
    for (let turn = 0; turn < 1000 && executor.replies.length === 0; turn++) await new Promise(resolve => setImmediate(resolve))
    assert.deepEqual(executor.replies, [{ req: 1, error: '' }], 'the executor hears it is defined')
    run.close()
  })

  it('answers another peer\'s deferred setConst with not-broker once the role goes elsewhere', () => {
    const host = fakeHost('newcomer')
    const run = new RunSpace('r2', undefined, host)
    run.onMessages('peer', [{ t: 'setConst', req: 7, entries: [{ name: 'tag', data: new Uint8Array([1]) }] }])
    assert.equal(host.sent.length, 0, 'deferred while this peer is named broker but does not act')

    host.broker = 'older'
    run.onBrokerSeen('older')
    const replies = host.sent.filter(s => s.msg.t === 'setConstReply')
    assert.deepEqual(replies.map(s => [s.to, (s.msg as Extract<WireMessage, { t: 'setConstReply' }>).error]), [['peer', 'not-broker']],
      'the requester is told to ask the new broker')
    run.close()
  })
})
