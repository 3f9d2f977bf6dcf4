// A mesh peer for the mDNS test, run as a process of its own inside a network namespace:
//   node mdns-peer.js <listen multiaddr> <swarm key, base64>
// It runs a MeshNode with mDNS on and no address of any other peer, and says hello to every
// peer it links, and again once their link has moved to its direct socket. One stdout line per
// event: `ready <own id>`, `linked <peer id>`, `direct <peer id>` (this side sends on the direct
// socket now), `hello <peer id>` (a valid hello came from that peer), `direct hello <peer id>`
// (the hello it sent once it sent on the direct socket). Ends on SIGTERM, or after LIFETIME_MS
// in case its test runner vanished without cleaning up.
import '../../src/polyfill.js'
import { MeshNode } from '../../src/mesh/node.js'

const LIFETIME_MS = 150_000
/** How long a link may take to go direct, and how often we look (MeshNode has no event for it). */
const DIRECT_WITHIN_MS = 20_000
const DIRECT_POLL_MS = 20
/** The names in the hellos sent when linked and once sending on the direct socket. */
const HELLO = 'mdns-peer'
const DIRECT_HELLO = 'mdns-peer, direct'
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
    sayHello(peer, HELLO)
    const deadline = Date.now() + DIRECT_WITHIN_MS
    const timer = setInterval(() => {
      if (mesh.sendsDirect(peer)) {
        console.log(`direct ${peer}`)
        sayHello(peer, DIRECT_HELLO)
      }
      if (mesh.sendsDirect(peer) || Date.now() > deadline || !mesh.isLinked(peer)) clearInterval(timer)
    }, DIRECT_POLL_MS)
  },
  onPeerDisconnected: peer => { console.log(`unlinked ${peer}`) },
  onMessages: (from, _run, messages) => {
    // Messages reach here only after parseFrame validated them.
    for (const message of messages) {
      if (message.t === 'hello' && message.peer.id === from) console.log(`${message.peer.name === DIRECT_HELLO ? 'direct hello' : 'hello'} ${from}`)
    }
  },
  onGossip: () => {}
})

function sayHello (peer: string, name: string): void {
  mesh.send(peer, { t: 'hello', peer: { id: mesh.peerId, name, addrs: mesh.multiaddrs, startedAt: Date.now() }, load: 0 })
}

async function stop (): Promise<never> {
  await mesh.stop()
  process.exit(0)
}
process.on('SIGTERM', () => { void stop() })
setTimeout(() => { void stop() }, LIFETIME_MS)
console.log(`ready ${mesh.peerId}`)
