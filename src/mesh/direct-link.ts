// A direct link: one TLS socket per peer pair that carries the task frames once both peers have
// it, instead of the libp2p stream. A small message's round trip between two processes took
// 176-261 µs on libp2p's stream (pnet, noise, yamux) on the reference machine, 131-198 µs on
// this socket and 98-110 µs on a bare one (bench/profile/README.md); libp2p stays for discovery,
// gossip, identities and as the path a link starts on and falls back to.
//
// No new trust: the socket's key is a fresh random pre-shared key (TLS 1.2 ECDHE-PSK, OpenSSL's
// ChaCha20-Poly1305) that one peer offers the other over their libp2p connection, which noise
// already authenticates as that peer (and pnet, when the mesh is private, as a member). A
// socket that does not know an offered key fails the handshake; an offer is good for one
// socket and expires.

import type { Server, TLSSocket } from 'node:tls'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { logger } from '@libp2p/logger'
import { DIRECT_LINK_CONNECT_TIMEOUT_MS, DIRECT_LINK_OFFER_TTL_MS } from '../defaults.js'

const log = logger('scoop:direct')

/** TLS 1.2 only: Node's TLS 1.3 has no external pre-shared keys. ECDHE gives forward secrecy. */
const TLS_OPTIONS = {
  ciphers: 'ECDHE-PSK-CHACHA20-POLY1305',
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.2'
} as const

/** What a peer needs to open the socket of an offer: where, and the key. */
export interface DirectLinkOffer {
  port: number
  /** The TLS PSK identity that names the offer (16 random bytes). */
  id: Uint8Array
  /** The pre-shared key (32 random bytes). */
  secret: Uint8Array
}

interface PendingOffer {
  secret: Uint8Array
  accept: (socket: TLSSocket) => void
  expiry: NodeJS.Timeout
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

/** Node's TLS, loaded with the first direct link: ~4 ms that a node which never links does not pay at start-up. */
const loadTls = async (): Promise<typeof import('node:tls')> => await import('node:tls')

/** The listening side: a TLS server that takes each offered socket once. */
export class DirectLinkServer {
  private readonly offers = new Map<string, PendingOffer>()
  /** The offer each socket's handshake named, from the PSK callback to the secure connection. */
  private readonly offerOfSocket = new WeakMap<TLSSocket, string>()
  private readonly sockets = new Set<TLSSocket>()

  private constructor (private readonly server: Server, readonly port: number) {}

  /** Listens on `host` (the IP the node's libp2p listens on), on a port the system picks. */
  static async listen (host: string): Promise<DirectLinkServer> {
    let self: DirectLinkServer | undefined
    const tls = await loadTls()
    const server = tls.createServer({
      ...TLS_OPTIONS,
      // A stranger that connects and says nothing holds a socket for this long at most.
      handshakeTimeout: DIRECT_LINK_CONNECT_TIMEOUT_MS,
      pskCallback: (socket: TLSSocket, identity: string) => self?.keyFor(socket, identity) ?? null
    }, socket => { self?.onSecureSocket(socket) })
    server.on('tlsClientError', err => { log('refused a direct socket: %s', err.message) })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, host, () => { server.off('error', reject); resolve() })
    })
    server.on('error', err => { log.error('direct link server: %s', err.message) })
    const address = server.address()
    if (address == null || typeof address === 'string') throw new Error('direct link server has no TCP port')
    self = new DirectLinkServer(server, address.port)
    return self
  }

  /** A new offer; `accept` gets its socket if a peer opens it before it expires or is withdrawn. */
  offer (accept: (socket: TLSSocket) => void): DirectLinkOffer {
    const id = randomBytes(16)
    const secret = randomBytes(32)
    const key = hex(id)
    const expiry = setTimeout(() => { this.offers.delete(key) }, DIRECT_LINK_OFFER_TTL_MS)
    expiry.unref()
    this.offers.set(key, { secret, accept, expiry })
    return { port: this.port, id, secret }
  }

  withdraw (id: Uint8Array): void {
    this.take(hex(id))
  }

  async close (): Promise<void> {
    for (const offer of this.offers.values()) clearTimeout(offer.expiry)
    this.offers.clear()
    for (const socket of this.sockets) socket.destroy()
    await new Promise<void>(resolve => { this.server.close(() => { resolve() }) })
  }

  private keyFor (socket: TLSSocket, identity: string): Uint8Array | null {
    const offer = this.offers.get(identity)
    if (offer == null) return null
    this.offerOfSocket.set(socket, identity)
    return offer.secret
  }

  /** Removes an offer (it is used, or withdrawn) and returns it, if it was still there. */
  private take (key: string): PendingOffer | undefined {
    const offer = this.offers.get(key)
    if (offer == null) return undefined
    clearTimeout(offer.expiry)
    this.offers.delete(key)
    return offer
  }

  private onSecureSocket (socket: TLSSocket): void {
    const key = this.offerOfSocket.get(socket)
    const offer = key != null ? this.take(key) : undefined
    if (offer == null) {
      // Its offer was withdrawn (the link closed) during the handshake.
      socket.destroy()
      return
    }
    this.sockets.add(socket)
    socket.once('close', () => { this.sockets.delete(socket) })
    socket.setNoDelay(true)
    offer.accept(socket)
  }
}

/** Opens the socket of a peer's offer at `host` (the peer's IP as our libp2p connection sees it), within `timeoutMs`. */
export async function openDirectLink (host: string, offer: DirectLinkOffer, timeoutMs: number): Promise<TLSSocket> {
  const tls = await loadTls()
  const socket = tls.connect({
    ...TLS_OPTIONS,
    host,
    port: offer.port,
    // No certificate: the pre-shared key authenticates both ends.
    checkServerIdentity: () => undefined,
    pskCallback: () => ({ psk: Buffer.from(offer.secret), identity: hex(offer.id) })
  })
  try {
    // Rejects on the socket's 'error' too.
    await once(socket, 'secureConnect', { signal: AbortSignal.timeout(timeoutMs) })
  } catch (err) {
    socket.destroy()
    throw (err as Error).name === 'AbortError' ? new Error(`no direct link within ${timeoutMs} ms`) : err
  }
  socket.setNoDelay(true)
  return socket
}
