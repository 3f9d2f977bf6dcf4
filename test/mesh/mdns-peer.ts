// A mesh peer for the mDNS test, run as a process of its own inside a network namespace:
//   node mdns-peer.js <listen multiaddr> <swarm key, base64>
// It runs a MeshNode with mDNS on and no address of any other peer, and says hello to every
// peer it links. One stdout line per event: `ready <own id>`, `linked <peer id>`,
// `hello <peer id>` (a valid hello came from that peer). Ends on SIGTERM, or after LIFETIME_MS
// in case its test runner vanished without cleaning up.
import '../../src/polyfill.js'
import { MeshNode } from '../../src/mesh/node.js'

const LIFETIME_MS = 150_000
/** Short, so a first query sent before the other peers were up is soon repeated. */
const MDNS_INTERVAL_MS = 1000

const [listen, swarmKeyBase64] = process.argv.slice(2)
if (listen == null || swarmKeyBase64 == null) {
  console.error('usage: mdns-peer.js <listen multiaddr> <swarm key, base64>')
  process.exit(2)
}

const mesh: MeshNode = await MeshNode.create({
  listen: [listen],
  swarmKey: Buffer.from(swarmKeyBase64, 'base64'),
  mdns: true,
  mdnsIntervalMs: MDNS_INTERVAL_MS
}, {
  onPeerConnected: peer => {
    console.log(`linked ${peer}`)
    mesh.send(peer, { t: 'hello', peer: { id: mesh.peerId, name: 'mdns-peer', addrs: mesh.multiaddrs, startedAt: Date.now() }, load: 0 })
  },
  onPeerDisconnected: peer => { console.log(`unlinked ${peer}`) },
  onMessages: (from, _run, messages) => {
    // Messages reach here only after parseFrame validated them.
    for (const message of messages) if (message.t === 'hello' && message.peer.id === from) console.log(`hello ${from}`)
  },
  onGossip: () => {}
})

async function stop (): Promise<never> {
  await mesh.stop()
  process.exit(0)
}
process.on('SIGTERM', () => { void stop() })
setTimeout(() => { void stop() }, LIFETIME_MS)
console.log(`ready ${mesh.peerId}`)
