// The libp2p adapter: the only module that talks to libp2p. It owns the node (TCP, noise,
// yamux, identify, gossipsub), one long-lived task stream per peer pair carrying
// length-prefixed cbor frames of many messages each, and the gossip topics.

import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { gossipsub } from '@libp2p/gossipsub'
import { preSharedKey, generateKey } from '@libp2p/pnet'
import { logger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection, Stream } from '@libp2p/interface'
import { FrameEncoder, FrameDecoder } from './framing.js'
import type { PeerId, WireMessage } from '../core/wire.js'
import { YAMUX_MAX_STREAM_WINDOW } from '../defaults.js'

const log = logger('scoop:mesh')

export const TASK_PROTOCOL = '/scoop/task/1.0.0'

export interface MeshEvents {
  /** A task stream to this peer is open in either direction. */
  onPeerConnected: (peer: PeerId) => void
  /** The last connection to this peer closed. */
  onPeerDisconnected: (peer: PeerId) => void
  /** Messages of one scope: `run` is the run they belong to, '' for the mesh itself. */
  onMessages: (from: PeerId, run: string, messages: WireMessage[]) => void
  onGossip: (topic: string, data: Uint8Array, from: PeerId) => void
}

export interface MeshNodeInit {
  /** Multiaddrs to listen on; loopback by default. */
  listen?: string[]
  /**
   * A pre-shared swarm key (libp2p pnet, `/key/swarm/psk/1.0.0/` format): peers without the same
   * key cannot even complete a connection. Without it the mesh is open to anyone who can reach it.
   */
  swarmKey?: Uint8Array
}

/** A fresh random swarm key, in the format of libp2p's swarm.key files. */
export function newSwarmKey (): Uint8Array {
  const key = new Uint8Array(95)
  generateKey(key)
  return key
}

/**
 * One side of a task stream, with outgoing messages joined into one frame per event-loop turn.
 * Messages of a run are preceded by a `scope` marker when the run changes within the frame,
 * so a frame of one run's messages costs one marker, not a run id per message.
 */
class PeerLink {
  private outbox: WireMessage[] = []
  /** Scope of the last message in the outbox: a frame starts in the mesh scope (''). */
  private outboxScope = ''
  private flushScheduled = false
  private readonly encoder = new FrameEncoder()

  constructor (readonly peer: PeerId, readonly stream: Stream) {}

  enqueue (msg: WireMessage, run: string): void {
    if (run !== this.outboxScope) {
      this.outbox.push({ t: 'scope', run })
      this.outboxScope = run
    }
    this.outbox.push(msg)
    if (!this.flushScheduled) {
      this.flushScheduled = true
      setImmediate(() => { this.flush() })
    }
  }

  private flush (): void {
    this.flushScheduled = false
    const messages = this.outbox
    this.outbox = []
    this.outboxScope = ''
    if (messages.length === 0 || this.stream.status !== 'open') return
    try {
      this.stream.send(this.encoder.encode(messages))
    } catch (err) {
      // send() throws once the stream has failed; the close event tears the link down.
      log.error('send to %s failed: %s', this.peer, (err as Error).message)
    }
  }
}

export class MeshNode {
  private readonly links = new Map<PeerId, PeerLink>()
  private readonly topics = new Set<string>()

  private constructor (private readonly libp2p: Libp2p<any>, private readonly events: MeshEvents) {}

  static async create (init: MeshNodeInit, events: MeshEvents): Promise<MeshNode> {
    const libp2p = await createLibp2p({
      addresses: { listen: init.listen ?? ['/ip4/127.0.0.1/tcp/0'] },
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
        pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false, floodPublish: true })
      }
    })
    const node = new MeshNode(libp2p, events)
    await libp2p.handle(TASK_PROTOCOL, (stream: Stream, connection: Connection) => {
      node.attach(connection.remotePeer.toString(), stream)
    }, { maxInboundStreams: 4, maxOutboundStreams: 4 })
    libp2p.addEventListener('peer:disconnect', (evt: CustomEvent<any>) => {
      const peer = evt.detail.toString()
      if (node.links.delete(peer)) events.onPeerDisconnected(peer)
    })
    const pubsub = libp2p.services.pubsub as any
    pubsub.addEventListener('message', (evt: CustomEvent<any>) => {
      const msg = evt.detail
      if (!node.topics.has(msg.topic)) return
      const from = msg.type === 'signed' ? msg.from.toString() : ''
      events.onGossip(msg.topic, msg.data, from)
    })
    return node
  }

  get peerId (): PeerId { return this.libp2p.peerId.toString() }

  get multiaddrs (): string[] { return this.libp2p.getMultiaddrs().map(a => a.toString()) }

  get connectedPeers (): PeerId[] { return [...this.links.keys()] }

  isLinked (peer: PeerId): boolean { return this.links.has(peer) }

  /** Dials a multiaddr (with /p2p/ id) and opens the task stream; resolves to the peer id. */
  async dial (address: string, options: { signal?: AbortSignal } = {}): Promise<PeerId> {
    const stream = await this.libp2p.dialProtocol(multiaddr(address), TASK_PROTOCOL, options)
    const peer = (stream as any).remotePeer?.toString() ?? this.peerOfAddress(address)
    this.attach(peer, stream)
    return peer
  }

  /** Queues a message for a peer; `run` is the run it belongs to ('' for the mesh itself). */
  /**
   * Dials a peer known by id and the addresses it announced (tried in turn: some, such as its
   * loopback address, may lead elsewhere or nowhere) and opens the task stream.
   */
  async dialPeer (peer: PeerId, addrs: string[], options: { signal?: AbortSignal } = {}): Promise<void> {
    const withId = addrs.map(a => multiaddr(a.includes('/p2p/') ? a : `${a}/p2p/${peer}`))
    const stream = await this.libp2p.dialProtocol(withId, TASK_PROTOCOL, { signal: options.signal ?? AbortSignal.timeout(10_000) })
    this.attach(peer, stream)
  }

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
    await this.libp2p.stop()
  }

  private peerOfAddress (address: string): PeerId {
    const id = multiaddr(address).getComponents().find(c => c.name === 'p2p')?.value
    if (id == null) throw new TypeError(`address ${address} has no /p2p/ peer id`)
    return id
  }

  /** Hands a frame's messages on, cut into runs at each `scope` marker. */
  private deliverFrame (peer: PeerId, frame: WireMessage[]): void {
    let run = ''
    let start = 0
    for (let i = 0; i <= frame.length; i++) {
      const msg = frame[i]
      if (i < frame.length && msg.t !== 'scope') continue
      if (i > start) this.events.onMessages(peer, run, start === 0 && i === frame.length ? frame : frame.slice(start, i))
      if (msg?.t === 'scope') run = msg.run
      start = i + 1
    }
  }

  /** Starts reading a task stream; the first stream to a peer becomes its sending link. */
  private attach (peer: PeerId, stream: Stream): void {
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
      const link = this.links.get(peer)
      if (link?.stream === stream) {
        this.links.delete(peer)
        this.events.onPeerDisconnected(peer)
      }
    })
    if (isNew) this.events.onPeerConnected(peer)
  }
}
