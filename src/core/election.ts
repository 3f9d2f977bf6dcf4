// Broker election from membership heartbeats. Every peer derives the broker from its own view
// with the same rule: the longest-running live peer (earliest start, then lowest peer id). A
// newcomer never displaces a live broker, and once views agree every peer names the same one.

import type { PeerId, PeerInfo } from './wire.js'

export interface Member extends PeerInfo {
  load: number
  lastSeen: number
}

const ranksBefore = (a: PeerInfo, b: PeerInfo): boolean =>
  a.startedAt < b.startedAt || (a.startedAt === b.startedAt && a.id < b.id)

export class BrokerElection {
  private readonly members = new Map<PeerId, Member>()
  private currentBroker: PeerId
  private currentEpoch = 1

  /** `leaseMs`: a peer not heard from for this long leaves the view. */
  constructor (private readonly self: PeerInfo, private readonly leaseMs: number) {
    this.currentBroker = self.id
  }

  get broker (): PeerInfo {
    return this.currentBroker === this.self.id ? this.self : (this.members.get(this.currentBroker) ?? this.self)
  }

  /** Increases each time this peer sees the broker change, and follows the highest epoch heard. */
  get epoch (): number { return this.currentEpoch }

  get isBroker (): boolean { return this.currentBroker === this.self.id }

  /** Live peers, this one included. */
  get size (): number { return this.members.size + 1 }

  view (): Member[] { return [...this.members.values()] }

  /** A peer was heard from (heartbeat, hello, or any message carrying its info). */
  onPeerSeen (info: PeerInfo, load: number, now: number, epoch = 0): void {
    if (info.id === this.self.id) return
    if (epoch > this.currentEpoch) this.currentEpoch = epoch
    const known = this.members.get(info.id)
    if (known != null && known.startedAt === info.startedAt) {
      // A heartbeat of a known member cannot change the ranking: no need to re-rank the view.
      known.load = load
      known.lastSeen = now
      return
    }
    this.members.set(info.id, { ...info, load, lastSeen: now })
    this.recompute()
  }

  onPeerLeft (id: PeerId): void {
    if (this.members.delete(id)) this.recompute()
  }

  /** Drops peers whose lease ran out; returns their ids. */
  onTick (now: number): PeerId[] {
    const expired: PeerId[] = []
    for (const [id, m] of this.members) {
      if (now - m.lastSeen > this.leaseMs) expired.push(id)
    }
    for (const id of expired) this.members.delete(id)
    if (expired.length > 0) this.recompute()
    return expired
  }

  private recompute (): void {
    let best: PeerInfo = this.self
    for (const m of this.members.values()) if (ranksBefore(m, best)) best = m
    if (best.id !== this.currentBroker) {
      this.currentBroker = best.id
      this.currentEpoch++
    }
  }
}
