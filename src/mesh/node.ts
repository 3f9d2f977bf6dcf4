// The libp2p adapter: the only module that talks to libp2p. It owns the node (TCP, noise,
// yamux, identify, gossipsub, optionally mDNS), one long-lived task stream per peer pair carrying
// length-prefixed cbor frames of many messages each, and the gossip topics. Once a link is up,
// its frames move to a direct TLS socket between the two peers (direct-link.ts) when one can be
// opened: between two processes, libp2p's stream layers cost more than the socket itself.

import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { gossipsub } from '@libp2p/gossipsub'
import { preSharedKey, generateKey } from '@libp2p/pnet'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { mdns } from '@libp2p/mdns'
import { logger } from '@libp2p/logger'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Connection, PeerDiscovery, PeerInfo as DiscoveredPeer, Stream } from '@libp2p/interface'
import { BlockList } from 'node:net'
import { networkInterfaces } from 'node:os'
import { setImmediate } from 'node:timers/promises'
import type { TLSSocket } from 'node:tls'
import { FrameEncoder, FrameDecoder } from './framing.js'
import { DirectLinkServer, openDirectLink } from './direct-link.js'
import { sendWindowUpdatesAtHalf } from './libp2p-tuning.js'
import type { PeerId, WireMessage } from '../core/wire.js'
import { DIAL_TIMEOUT_MS, DIRECT_LINK_CONNECT_TIMEOUT_MS, DIRECT_SOCKET_CLOSE_WAIT_MS, YAMUX_MAX_STREAM_WINDOW } from '../defaults.js'

const log = logger('scoop:mesh')

/**
 * The task stream's protocol. 1.1.0 added the link control messages (`direct`, `switch`): a
 * 1.0.0 peer would take their frames for malformed ones and close the stream, so the two do not
 * even open one (the dial fails: "Protocol selection failed - could not negotiate /scoop/task/1.1.0").
 */
export const TASK_PROTOCOL = '/scoop/task/1.1.0'

/**
 * The mDNS service name scoop-node meshes ask for and answer to. Not libp2p's default
 * `_p2p._udp.local`: other libp2p applications on the LAN neither see our peers nor fill our
 * discovery with theirs.
 */
const MDNS_SERVICE_TAG = '_scoop-node._udp.local'


/**
 * A discovered peer we could not link is dialed again only after a back-off that doubles with
 * each failure, between these bounds. A peer of another run on the same LAN (another swarm key)
 * answers every mDNS query yet can never link: without it we would dial it at every query.
 */
const DISCOVERY_REDIAL_MIN_MS = 5_000
const DISCOVERY_REDIAL_MAX_MS = 5 * 60_000

export interface MeshEvents {
  /** A task stream to this peer is open in either direction. */
  onPeerConnected: (peer: PeerId) => void
  /** The last connection to this peer closed. */
  onPeerDisconnected: (peer: PeerId) => void
  /** Messages of one scope: `run` is the run they belong to, '' for the mesh itself. */
  onMessages: (from: PeerId, run: string, messages: WireMessage[]) => void
  onGossip: (topic: string, data: Uint8Array, from: PeerId) => void
  /** Something the user should hear of (discovery cannot work here, say); the node goes on. */
  onWarning?: (message: string) => void
}

export interface MeshNodeInit {
  /** Multiaddrs to listen on; loopback by default. */
  listen?: string[]
  /**
   * A pre-shared swarm key (libp2p pnet, `/key/swarm/psk/1.0.0/` format): peers without the same
   * key cannot even complete a connection. Without it the mesh is open to anyone who can reach it.
   */
  swarmKey?: Uint8Array
  /** The node's identity (a private key, from newPeerIdentity): the same peer id across restarts. A fresh one when absent. */
  identity?: Uint8Array
  /**
   * Finds peers on the local link by mDNS (service MDNS_SERVICE_TAG) and opens a task stream to
   * each; onPeerConnected then reports them as for any other link.
   *
   * Needs a non-loopback listen address: a peer dials the addresses we announce, and 127.0.0.1
   * (the default) reaches no other host. Listen on the LAN address, or on `/ip4/0.0.0.0/tcp/0`,
   * which announces the address of every interface except link-local ones (169.254.x.x): with
   * those, listen on the explicit address. A private mesh stays private: a discovered peer
   * without our swarm key fails to connect like any other.
   */
  mdns?: boolean
  /** How often mDNS asks the link for peers, in ms (libp2p's default: 10 s); tests shorten it. */
  mdnsIntervalMs?: number
  /**
   * Moves each link's frames to a direct TLS socket (direct-link.ts) once both peers have it;
   * on by default. Off, or when the socket cannot be opened (a firewall, a NAT), frames stay on
   * libp2p's stream. The server listens on the IP of the first listen address, from the first
   * link this node offers one to: a node that never links pays nothing for it at start-up.
   */
  direct?: boolean
}

/** The multicast-dns socket wrapper inside @libp2p/mdns (its public `mdns` field), as far as we use it. */
interface MulticastDnsSocket {
  on: (event: 'error' | 'warning', listener: (err: Error) => void) => void
  query: (questions: Array<{ name: string, type: string }>, done: (err: Error | null) => void) => void
}

/** The peer id at the end of a multiaddr (`.../p2p/<id>`), if it has one. */
export function peerIdOfAddress (address: string): PeerId | undefined {
  try {
    return multiaddr(address).getComponents().find(c => c.name === 'p2p')?.value
  } catch {
    return undefined
  }
}

/** A fresh peer identity (an Ed25519 private key, protobuf-encoded) for MeshNodeInit.identity. */
export async function newPeerIdentity (): Promise<Uint8Array> {
  return privateKeyToProtobuf(await generateKeyPair('Ed25519'))
}

/** A fresh random swarm key, in the format of libp2p's swarm.key files. */
export function newSwarmKey (): Uint8Array {
  const key = new Uint8Array(95)
  generateKey(key)
  return key
}

/**
 * One side of a task stream, with the messages sent by one handler joined into one frame.
 * Messages of a run are preceded by a `scope` marker when the run changes within the frame,
 * so a frame of one run's messages costs one marker, not a run id per message.
 */
class PeerLink {
  private outbox: WireMessage[] = []
  /** Scope of the last message in the outbox: a frame starts in the mesh scope (''). */
  private outboxScope = ''
  private flushScheduled = false
  private readonly encoder = new FrameEncoder()
  /** The direct socket of this link, once open (by either side). */
  socket?: TLSSocket
  /** This side sends its frames on the socket: it sent 'switch', its last frame on the stream. */
  sendsDirect = false
  /**
   * Frames the socket brought before the peer's 'switch' came on the stream: they follow
   * everything the peer sent there. Undefined once the peer switched.
   */
  heldFrames: WireMessage[][] | undefined = []
  /** Withdraws the direct link this side offered, until it is opened. */
  withdrawOffer?: () => void

  constructor (readonly peer: PeerId, readonly stream: Stream) {}

  /** Sends 'switch' as the last frame on the stream, then every later frame on the socket. */
  switchToDirect (): void {
    this.enqueue({ t: 'switch' }, '')
    this.flush()
    this.sendsDirect = true
  }

  /** Closes the socket at once (the link is gone). */
  destroyDirect (): void {
    this.socket?.destroy()
  }

  /** Sends what is queued, then ends the socket cleanly (within DIRECT_SOCKET_CLOSE_WAIT_MS). */
  async endDirect (): Promise<void> {
    const socket = this.socket
    if (socket == null || socket.destroyed) return
    this.flush()
    await new Promise<void>(resolve => {
      const timer = setTimeout(() => { socket.destroy() }, DIRECT_SOCKET_CLOSE_WAIT_MS)
      socket.once('close', () => { clearTimeout(timer); resolve() })
      socket.end()
    })
  }

  enqueue (msg: WireMessage, run: string): void {
    if (run !== this.outboxScope) {
      this.outbox.push({ t: 'scope', run })
      this.outboxScope = run
    }
    this.outbox.push(msg)
    if (!this.flushScheduled) {
      this.flushScheduled = true
      // Once the handler that sends returns: what it sends goes in one frame, without waiting
      // for the other I/O of this turn of the event loop (tens of µs on a busy host).
      queueMicrotask(() => { this.flush() })
    }
  }

  private flush (): void {
    this.flushScheduled = false
    const messages = this.outbox
    this.outbox = []
    this.outboxScope = ''
    if (messages.length === 0) return
    if (this.sendsDirect) {
      if (this.socket?.writable === true) this.socket.write(this.encoder.encode(messages))
      return
    }
    if (this.stream.status !== 'open') return
    try {
      this.stream.send(this.encoder.encode(messages))
    } catch (err) {
      // send() throws once the stream has failed; the close event tears the link down.
      log.error('send to %s failed: %s', this.peer, (err as Error).message)
    }
  }
}

/**
 * A turn of the event loop before and between the long synchronous steps of libp2p's load and
 * start (tens of ms each, all on promises that are already settled): the launcher's main thread also carries the
 * script thread's output and its exit, which waited for the whole start (50-100 ms added to a
 * script that was over before the node was up).
 */
const nextTurnOfEventLoop = setImmediate

export class MeshNode {
  private readonly links = new Map<PeerId, PeerLink>()
  private readonly topics = new Set<string>()
  /** Discovered peers being dialed, so a peer answering several queries is dialed once. */
  private readonly discoveryDials = new Set<PeerId>()
  /** Discovered peers whose last dial failed: failures in a row, and when to try again. */
  private readonly discoveryFailures = new Map<PeerId, { count: number, retryAt: number }>()

  /** Where this node offers direct links, once it has offered one; undefined in it when it could not listen. */
  private directServer?: Promise<DirectLinkServer | undefined>

  private constructor (
    private readonly libp2p: Libp2p<any>,
    private readonly events: MeshEvents,
    private readonly listen: string[],
    /** Whether this node offers direct links and opens those its peers offer (MeshNodeInit.direct). */
    private readonly direct: boolean
  ) {}

  static async create (init: MeshNodeInit, events: MeshEvents): Promise<MeshNode> {
    const listen = init.listen ?? ['/ip4/127.0.0.1/tcp/0']
    // Loading libp2p's modules held the thread too (the first await here comes after it).
    await nextTurnOfEventLoop()
    const libp2p = await createLibp2p({
      // Started below, once the task protocol is handled: a peer that discovers us at once must
      // not find a node that refuses its task stream.
      start: false,
      ...(init.identity != null ? { privateKey: privateKeyFromProtobuf(init.identity) } : {}),
      addresses: { listen },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      ...(init.swarmKey != null ? { connectionProtector: preSharedKey({ psk: init.swarmKey }) } : {}),
      streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: YAMUX_MAX_STREAM_WINDOW } } as any)],
      connectionManager: {
        // Every local worker dials from 127.0.0.1: libp2p's default of 5 per second would refuse them.
        inboundConnectionThreshold: 10_000,
        maxIncomingPendingConnections: 1000,
        maxConnections: 10_000
      },
      services: {
        identify: identify(),
        pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false, floodPublish: true }),
        ...(init.mdns === true ? { mdns: mdns({ serviceTag: MDNS_SERVICE_TAG, interval: init.mdnsIntervalMs }) } : {})
      }
    })
    await nextTurnOfEventLoop()
    const node = new MeshNode(libp2p, events, listen, init.direct !== false)
    await libp2p.handle(TASK_PROTOCOL, (stream: Stream, connection: Connection) => {
      node.attach(connection.remotePeer.toString(), stream)
    }, { maxInboundStreams: 4, maxOutboundStreams: 4 })
    libp2p.addEventListener('peer:disconnect', (evt: CustomEvent<any>) => {
      node.dropLink(evt.detail.toString())
    })
    const pubsub = libp2p.services.pubsub as any
    pubsub.addEventListener('message', (evt: CustomEvent<any>) => {
      const msg = evt.detail
      if (!node.topics.has(msg.topic)) return
      const from = msg.type === 'signed' ? msg.from.toString() : ''
      events.onGossip(msg.topic, msg.data, from)
    })
    if (init.mdns === true) {
      if (listen.every(address => isLoopback(multiaddr(address)))) log('mDNS is on but the node listens on loopback only: peers on other hosts cannot dial it')
      ;(libp2p.services.mdns as PeerDiscovery).addEventListener('peer', (evt: CustomEvent<DiscoveredPeer>) => {
        node.onDiscovered(evt.detail)
      })
    }
    await nextTurnOfEventLoop()
    await libp2p.start()
    if (init.mdns === true) node.watchMdnsSocket()
    return node
  }

  get peerId (): PeerId { return this.libp2p.peerId.toString() }

  get multiaddrs (): string[] { return this.libp2p.getMultiaddrs().map(a => a.toString()) }

  get connectedPeers (): PeerId[] { return [...this.links.keys()] }

  isLinked (peer: PeerId): boolean { return this.links.has(peer) }

  /** Whether this node sends its frames to this peer on their direct socket. */
  sendsDirect (peer: PeerId): boolean { return this.links.get(peer)?.sendsDirect === true }

  /** Dials a multiaddr (with /p2p/ id) and opens the task stream; resolves to the peer id. */
  async dial (address: string, options: { signal?: AbortSignal } = {}): Promise<PeerId> {
    const stream = await this.libp2p.dialProtocol(multiaddr(address), TASK_PROTOCOL, options)
    const peer = (stream as any).remotePeer?.toString() ?? peerIdOfAddress(address)
    if (peer == null) throw new TypeError(`address ${address} has no /p2p/ peer id`)
    this.attach(peer, stream)
    return peer
  }

  /**
   * Dials a peer known by id and the addresses it announced (tried in turn: some, such as its
   * loopback address, may lead elsewhere or nowhere) and opens the task stream.
   */
  async dialPeer (peer: PeerId, addrs: string[], options: { signal?: AbortSignal } = {}): Promise<void> {
    const withId = addrs.map(a => multiaddr(a.includes('/p2p/') ? a : `${a}/p2p/${peer}`))
    const stream = await this.libp2p.dialProtocol(withId, TASK_PROTOCOL, { signal: options.signal ?? AbortSignal.timeout(DIAL_TIMEOUT_MS) })
    this.attach(peer, stream)
  }

  /** Queues a message for a peer; `run` is the run it belongs to ('' for the mesh itself). */
  send (peer: PeerId, msg: WireMessage, run = ''): void {
    const link = this.links.get(peer)
    if (link == null) {
      log('dropping %s for unlinked peer %s', msg.t, peer)
      return
    }
    link.enqueue(msg, run)
  }

  subscribe (topic: string): void {
    this.topics.add(topic)
    ;(this.libp2p.services.pubsub as any).subscribe(topic)
  }

  unsubscribe (topic: string): void {
    if (!this.topics.delete(topic)) return
    ;(this.libp2p.services.pubsub as any).unsubscribe(topic)
  }

  publish (topic: string, data: Uint8Array): void {
    (this.libp2p.services.pubsub as any).publish(topic, data).catch((err: Error) => {
      log('publish on %s failed: %s', topic, err.message)
    })
  }

  async stop (): Promise<void> {
    await Promise.all([...this.links.values()].map(async link => { await link.endDirect() }))
    await (await this.directServer)?.close()
    await this.libp2p.stop()
  }

  /**
   * Logs what would otherwise fail silently: socket errors, and a first query that cannot leave
   * the host (no multicast route: @libp2p/mdns sends its own queries without looking at the outcome).
   */
  private watchMdnsSocket (): void {
    const socket = (this.libp2p.services.mdns as { mdns?: MulticastDnsSocket }).mdns
    const warn = (message: string): void => {
      log.error(message)
      this.events.onWarning?.(message)
    }
    if (socket == null) {
      warn('mDNS did not start: peers will not be discovered')
      return
    }
    socket.on('error', err => { warn(`mDNS socket error: ${err.message}`) })
    socket.on('warning', err => { log.error('mDNS socket warning: %s', err.message) })
    socket.query([{ name: MDNS_SERVICE_TAG, type: 'PTR' }], err => {
      if (err != null) warn(`mDNS query could not be sent (${err.message}): is there a multicast route? Peers will not be discovered`)
    })
  }

  /** Opens a task stream to a peer mDNS found, unless linked, being dialed, or backing off. */
  private onDiscovered (discovered: DiscoveredPeer): void {
    const peer = discovered.id.toString()
    if (peer === this.peerId || this.links.has(peer) || this.discoveryDials.has(peer)) return
    const now = Date.now()
    const failure = this.discoveryFailures.get(peer)
    if (failure != null && now < failure.retryAt) return
    const addresses = linkAddresses(discovered.multiaddrs)
    if (addresses.length === 0) {
      log('discovered %s, but none of its addresses is on a link of ours: %s', peer, discovered.multiaddrs.join(' '))
      return
    }
    this.discoveryDials.add(peer)
    this.dialPeer(peer, addresses.map(a => a.toString()))
      .then(() => {
        this.discoveryFailures.delete(peer)
      }, (err: Error) => {
        this.recordDiscoveryFailure(peer, now)
        log.error('dial to discovered peer %s failed (next try in %d ms): %s', peer, (this.discoveryFailures.get(peer)?.retryAt ?? now) - now, err.message)
      })
      .finally(() => { this.discoveryDials.delete(peer) })
  }

  private recordDiscoveryFailure (peer: PeerId, now: number): void {
    // Forget peers not retried for a long while (gone from the LAN), so the table stays small.
    for (const [other, { retryAt }] of this.discoveryFailures) {
      if (now - retryAt > DISCOVERY_REDIAL_MAX_MS) this.discoveryFailures.delete(other)
    }
    const count = (this.discoveryFailures.get(peer)?.count ?? 0) + 1
    const backoff = Math.min(DISCOVERY_REDIAL_MIN_MS * 2 ** (count - 1), DISCOVERY_REDIAL_MAX_MS)
    this.discoveryFailures.set(peer, { count, retryAt: now + backoff })
  }

  /** Hands a frame's messages on, cut into runs at each `scope` marker; acts on link control messages. */
  private deliverFrame (peer: PeerId, frame: WireMessage[]): void {
    let run = ''
    let start = 0
    for (let i = 0; i <= frame.length; i++) {
      const msg = frame[i]
      if (i < frame.length && msg.t !== 'scope' && msg.t !== 'direct' && msg.t !== 'switch') continue
      if (i > start) this.events.onMessages(peer, run, start === 0 && i === frame.length ? frame : frame.slice(start, i))
      if (msg?.t === 'scope') run = msg.run
      else if (msg?.t === 'direct') this.openOfferedLink(peer, msg)
      else if (msg?.t === 'switch') this.onPeerSwitched(peer)
      start = i + 1
    }
  }

  /**
   * Offers a direct link to a new peer. One side offers, the one with the smaller id, so a pair
   * that dials each other at once still opens one socket.
   */
  private offerDirectLink (link: PeerLink): void {
    if (!this.direct || this.peerId > link.peer) return
    this.directServer ??= listenForDirectLinks(this.listen)
    void this.directServer.then(server => {
      if (server == null || this.links.get(link.peer) !== link) return
      const offer = server.offer(socket => {
        link.withdrawOffer = undefined
        if (this.links.get(link.peer) !== link) {
          socket.destroy()
          return
        }
        this.useDirectSocket(link, socket, false)
      })
      link.withdrawOffer = () => { server.withdraw(offer.id) }
      link.enqueue({ t: 'direct', ...offer }, '')
    })
  }

  /** Opens a peer's direct link offer, at the IP our libp2p connection reaches it on. */
  private openOfferedLink (peer: PeerId, offer: { port: number, id: Uint8Array, secret: Uint8Array }): void {
    const link = this.links.get(peer)
    if (!this.direct || link == null || link.socket != null) return
    const host = this.libp2p.getConnections()
      .filter(c => c.remotePeer.toString() === peer && c.status === 'open')
      .map(c => ipOf(c.remoteAddr)?.ip)
      .find(ip => ip != null)
    if (host == null) return
    openDirectLink(host, offer, DIRECT_LINK_CONNECT_TIMEOUT_MS).then(socket => {
      if (this.links.get(peer) !== link || link.socket != null) {
        socket.destroy()
        return
      }
      this.useDirectSocket(link, socket, true)
    }, (err: Error) => {
      log('no direct link to %s at %s:%d, frames stay on the libp2p stream: %s', peer, host, offer.port, err.message)
    })
  }

  /**
   * Reads the link's socket, and sends on it: at once on the side that opened it (its handshake
   * is over when it has the socket), on the offering side once the opener has switched. So a
   * socket that the opener gave up during its handshake (its connect timed out) has carried
   * nothing, and the link stays on the stream.
   */
  private useDirectSocket (link: PeerLink, socket: TLSSocket, opened: boolean): void {
    link.socket = socket
    const decoder = new FrameDecoder()
    socket.on('data', (chunk: Uint8Array) => {
      let frames: WireMessage[][]
      try {
        frames = decoder.decode(chunk)
      } catch (err) {
        log.error('closing direct socket from %s: %s', link.peer, (err as Error).message)
        socket.destroy()
        return
      }
      for (const frame of frames) {
        if (link.heldFrames != null) link.heldFrames.push(frame)
        else this.deliverFrame(link.peer, frame)
      }
    })
    socket.on('error', err => { log('direct socket to %s: %s', link.peer, err.message) })
    socket.on('close', () => { this.onDirectSocketClosed(link, socket) })
    if (opened || link.heldFrames == null) link.switchToDirect()
  }

  /** The peer sent its last frame on the stream: what its socket brought meanwhile comes next. */
  private onPeerSwitched (peer: PeerId): void {
    const link = this.links.get(peer)
    const held = link?.heldFrames
    if (link == null || held == null) return
    link.heldFrames = undefined
    for (const frame of held) this.deliverFrame(peer, frame)
    if (link.socket != null && !link.sendsDirect) link.switchToDirect()
  }

  /**
   * A link whose frames go on its socket, in either direction, is lost with it: the peer is
   * reported gone (it most likely died; the libp2p connection follows) and the stream closed, as
   * when the stream fails. A socket that carried nothing yet is only forgotten.
   */
  private onDirectSocketClosed (link: PeerLink, socket: TLSSocket): void {
    if (link.socket !== socket || this.links.get(link.peer) !== link) return
    if (!link.sendsDirect && link.heldFrames != null) {
      log('direct socket to %s closed before either side switched: frames stay on the stream', link.peer)
      link.socket = undefined
      return
    }
    log('direct socket to %s closed', link.peer)
    this.dropLink(link.peer)
    link.stream.abort(new Error('direct link closed'))
  }

  /** Forgets a peer's link, closes its direct socket and reports the peer gone. */
  private dropLink (peer: PeerId): void {
    const link = this.links.get(peer)
    if (link == null) return
    this.links.delete(peer)
    link.withdrawOffer?.()
    link.destroyDirect()
    this.events.onPeerDisconnected(peer)
  }

  /** Starts reading a task stream; the first stream to a peer becomes its sending link. */
  private attach (peer: PeerId, stream: Stream): void {
    sendWindowUpdatesAtHalf(stream)
    const isNew = !this.links.has(peer)
    if (isNew) this.links.set(peer, new PeerLink(peer, stream))
    const decoder = new FrameDecoder()
    stream.addEventListener('message', (evt: any) => {
      let frames: WireMessage[][]
      try {
        frames = decoder.decode(evt.data)
      } catch (err) {
        log.error('closing stream from %s: %s', peer, (err as Error).message)
        stream.abort(err as Error)
        return
      }
      for (const frame of frames) this.deliverFrame(peer, frame)
    })
    stream.addEventListener('close', () => {
      if (this.links.get(peer)?.stream === stream) this.dropLink(peer)
    })
    if (isNew) {
      this.events.onPeerConnected(peer)
      const link = this.links.get(peer)
      if (link != null) this.offerDirectLink(link)
    }
  }
}

const ipOf = (address: Multiaddr): { family: 'ipv4' | 'ipv6', ip: string } | undefined => {
  const [first, second] = address.getComponents()
  if (second?.name !== 'tcp' || first.value == null) return undefined
  if (first.name === 'ip4') return { family: 'ipv4', ip: first.value }
  if (first.name === 'ip6') return { family: 'ipv6', ip: first.value }
  return undefined
}

/**
 * The direct link server of a node that listens on `listen`: on the IP of its first TCP listen
 * address, or on the wildcard of its family when the node listens on several IPs. Undefined
 * (links stay on libp2p) when it cannot listen.
 */
async function listenForDirectLinks (listen: string[]): Promise<DirectLinkServer | undefined> {
  const ips = listen.map(address => ipOf(multiaddr(address))).filter(ip => ip != null)
  if (ips.length === 0) return undefined
  const first = ips[0]
  const host = ips.every(ip => ip.ip === first.ip) ? first.ip : first.family === 'ipv4' ? '0.0.0.0' : '::'
  try {
    return await DirectLinkServer.listen(host)
  } catch (err) {
    log.error('cannot listen for direct links on %s, links stay on libp2p streams: %s', host, (err as Error).message)
    return undefined
  }
}

function isLoopback (address: Multiaddr): boolean {
  const ip = ipOf(address)?.ip
  return ip != null && (ip.startsWith('127.') || ip === '::1')
}

/**
 * The addresses of a discovered peer worth dialing: TCP addresses on a subnet one of our
 * interfaces is on. An mDNS answer comes from a neighbour on a link we share; its other
 * addresses (a docker bridge, a VPN) lead elsewhere or nowhere. Loopback is kept only when the
 * peer announces nothing else: it is then on this host, or unreachable anyway.
 */
function linkAddresses (addresses: Multiaddr[]): Multiaddr[] {
  const ourSubnets = new BlockList()
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) {
      if (entry.cidr == null) continue
      const [network, prefix] = entry.cidr.split('/')
      ourSubnets.addSubnet(network, Number(prefix), entry.family === 'IPv4' ? 'ipv4' : 'ipv6')
    }
  }
  const onOurLinks = addresses.filter(address => {
    const ip = ipOf(address)
    return ip != null && ourSubnets.check(ip.ip, ip.family)
  })
  const beyondLoopback = onOurLinks.filter(address => !isLoopback(address))
  return beyondLoopback.length > 0 ? beyondLoopback : onOurLinks
}
