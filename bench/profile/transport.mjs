// What one small message costs on the task stream, by layer: a round trip (A → B → A) of a
// 100-byte frame between two MeshNodes in this one process (so no thread or process wake-ups
// are counted, only the software and the loopback socket), with and without the swarm key
// (pnet), against a raw TCP socket; then with the answering node in another process (so with
// one process wake-up each way, as between two peers: compare with wakeups.mjs).
//   npm run build && node bench/profile/transport.mjs [round trips, default 5000]
import '../../dist/src/polyfill.js'
import net from 'node:net'
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { MeshNode, newSwarmKey } from '../../dist/src/mesh/node.js'

const count = Number(process.argv[2] ?? 5000)
const events = (reply) => ({
  onPeerConnected () {},
  onPeerDisconnected () {},
  onGossip () {},
  onMessages: (from, run, messages) => { reply(from, messages) }
})

if (process.argv[2] === '--echo-node') {
  // The other process of otherProcessRoundTrips: a node that answers every message with itself.
  const swarmKey = Buffer.from(process.argv[3], 'base64')
  const b = await MeshNode.create({ swarmKey }, events((from, messages) => { b.send(from, messages[0], '') }))
  process.send(b.multiaddrs[0])
  process.on('disconnect', () => { b.stop().finally(() => process.exit(0)) })
}
const median = xs => [...xs].sort((a, b) => a - b)[xs.length >> 1]

async function meshRoundTrips (swarmKey) {
  let answer
  let a
  const b = await MeshNode.create({ swarmKey }, events((from, messages) => { b.send(from, messages[0], '') }))
  a = await MeshNode.create({ swarmKey }, events(() => { answer?.() }))
  const peer = await a.dial(b.multiaddrs[0])
  const msg = { t: 'result', seq: 1, ok: true, data: new Uint8Array(64), ms: 1 }
  const samples = []
  for (let i = 0; i < count; i++) {
    const t = process.hrtime.bigint()
    await new Promise(resolve => { answer = resolve; a.send(peer, msg, '') })
    if (i > count / 10) samples.push(Number(process.hrtime.bigint() - t) / 1000)
  }
  await a.stop()
  await b.stop()
  return median(samples)
}

async function rawRoundTrips () {
  const server = net.createServer(socket => { socket.setNoDelay(true); socket.on('data', d => socket.write(d)) })
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  const client = net.connect(server.address().port, '127.0.0.1')
  client.setNoDelay(true)
  await new Promise(resolve => client.once('connect', resolve))
  const frame = Buffer.alloc(100)
  const samples = []
  for (let i = 0; i < count; i++) {
    const t = process.hrtime.bigint()
    await new Promise(resolve => { client.once('data', resolve); client.write(frame) })
    if (i > count / 10) samples.push(Number(process.hrtime.bigint() - t) / 1000)
  }
  client.destroy()
  server.close()
  return median(samples)
}

/** Round trips to a MeshNode in another process (pnet + noise + yamux). */
async function otherProcessRoundTrips () {
  const swarmKey = newSwarmKey()
  const other = fork(fileURLToPath(import.meta.url), ['--echo-node', Buffer.from(swarmKey).toString('base64')])
  try {
    const address = await new Promise((resolve, reject) => { other.once('message', resolve); other.once('exit', reject) })
    let answer
    const a = await MeshNode.create({ swarmKey }, events(() => { answer?.() }))
    const peer = await a.dial(address)
    const msg = { t: 'result', seq: 1, ok: true, data: new Uint8Array(64), ms: 1 }
    const samples = []
    for (let i = 0; i < count; i++) {
      const t = process.hrtime.bigint()
      await new Promise(resolve => { answer = resolve; a.send(peer, msg, '') })
      if (i > count / 10) samples.push(Number(process.hrtime.bigint() - t) / 1000)
    }
    await a.stop()
    return median(samples)
  } finally {
    other.disconnect()
  }
}

if (process.argv[2] !== '--echo-node') {
  const cpu = process.cpuUsage()
  console.log(`raw TCP socket:                 ${(await rawRoundTrips()).toFixed(1)} µs per round trip`)
  console.log(`MeshNode, noise + yamux:        ${(await meshRoundTrips(undefined)).toFixed(1)} µs per round trip`)
  console.log(`MeshNode, pnet + noise + yamux: ${(await meshRoundTrips(newSwarmKey())).toFixed(1)} µs per round trip`)
  console.log(`the same, answered by a node in another process: ${(await otherProcessRoundTrips()).toFixed(1)} µs per round trip`)
  const used = process.cpuUsage(cpu)
  process.stderr.write(`(CPU of this process ${((used.user + used.system) / 1000).toFixed(0)} ms in all)\n`)
}
