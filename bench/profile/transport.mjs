// What one small message costs on the task stream, by layer: a round trip (A → B → A) of a
// 100-byte frame between two MeshNodes in this one process (so no thread or process wake-ups
// are counted, only the software and the loopback socket), on libp2p's stream with and without
// the swarm key (pnet) and on the direct TLS socket a link moves to, against a raw TCP socket;
// then with the answering node in another process (so with one process wake-up each way, as
// between two peers: compare with wakeups.mjs).
//   npm run build && node bench/profile/transport.mjs [round trips, default 5000]
import '../../dist/src/polyfill.js'
import net from 'node:net'
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { medianRoundTripUs } from './round-trips.mjs'
import { MeshNode, newSwarmKey } from '../../dist/src/mesh/node.js'

const count = Number(process.argv[2] ?? 5000)
const events = (reply) => ({
  onPeerConnected () {},
  onPeerDisconnected () {},
  onGossip () {},
  onMessages: (from, run, messages) => { reply(from, messages) }
})

/** A node that answers every message with itself. */
async function echoNode (swarmKey, direct) {
  const node = await MeshNode.create({ swarmKey, direct }, events((from, messages) => { node.send(from, messages[0], '') }))
  return node
}

if (process.argv[2] === '--echo-node') {
  // The other process of otherProcessRoundTrips.
  const node = await echoNode(Buffer.from(process.argv[3], 'base64'), process.argv[4] === 'direct')
  process.send(node.multiaddrs[0])
  process.on('disconnect', () => { node.stop().finally(() => process.exit(0)) })
}

/** Round trips of a small message from a new MeshNode to the echo node at `address`, once the link is direct if `direct`. */
async function meshRoundTripsTo (address, swarmKey, direct) {
  let answer
  const a = await MeshNode.create({ swarmKey, direct }, events(() => { answer?.() }))
  try {
    const peer = await a.dial(address)
    for (let i = 0; direct && !a.sendsDirect(peer); i++) {
      if (i === 500) throw new Error('the link did not go direct within 5 s')
      await new Promise(resolve => setTimeout(resolve, 10))
    }
    const msg = { t: 'result', seq: 1, ok: true, data: new Uint8Array(64), ms: 1 }
    return await medianRoundTripUs(count, () => new Promise(resolve => { answer = resolve; a.send(peer, msg, '') }))
  } finally {
    await a.stop()
  }
}

/** Both nodes in this process. */
async function meshRoundTrips (swarmKey, direct) {
  const b = await echoNode(swarmKey, direct)
  try {
    return await meshRoundTripsTo(b.multiaddrs[0], swarmKey, direct)
  } finally {
    await b.stop()
  }
}

async function rawRoundTrips () {
  const server = net.createServer(socket => { socket.setNoDelay(true); socket.on('data', d => socket.write(d)) })
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  const client = net.connect(server.address().port, '127.0.0.1')
  client.setNoDelay(true)
  await new Promise(resolve => client.once('connect', resolve))
  const frame = Buffer.alloc(100)
  const us = await medianRoundTripUs(count, () => new Promise(resolve => { client.once('data', resolve); client.write(frame) }))
  client.destroy()
  server.close()
  return us
}

/** Round trips to a MeshNode in another process (pnet + noise + yamux, or the direct socket). */
async function otherProcessRoundTrips (direct) {
  const swarmKey = newSwarmKey()
  const other = fork(fileURLToPath(import.meta.url), ['--echo-node', Buffer.from(swarmKey).toString('base64'), direct ? 'direct' : 'stream'])
  try {
    const address = await new Promise((resolve, reject) => { other.once('message', resolve); other.once('exit', reject) })
    return await meshRoundTripsTo(address, swarmKey, direct)
  } finally {
    other.disconnect()
  }
}

if (process.argv[2] !== '--echo-node') {
  const cpu = process.cpuUsage()
  console.log(`raw TCP socket:                 ${(await rawRoundTrips()).toFixed(1)} µs per round trip`)
  console.log(`MeshNode, noise + yamux:        ${(await meshRoundTrips(undefined, false)).toFixed(1)} µs per round trip`)
  console.log(`MeshNode, pnet + noise + yamux: ${(await meshRoundTrips(newSwarmKey(), false)).toFixed(1)} µs per round trip`)
  console.log(`MeshNode, direct TLS socket:    ${(await meshRoundTrips(newSwarmKey(), true)).toFixed(1)} µs per round trip`)
  console.log(`pnet + noise + yamux, answered by a node in another process: ${(await otherProcessRoundTrips(false)).toFixed(1)} µs per round trip`)
  console.log(`direct TLS socket, answered by a node in another process:    ${(await otherProcessRoundTrips(true)).toFixed(1)} µs per round trip`)
  const used = process.cpuUsage(cpu)
  process.stderr.write(`(CPU of this process ${((used.user + used.system) / 1000).toFixed(0)} ms in all)\n`)
}
