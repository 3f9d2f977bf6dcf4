// Broker election from membership heartbeats. Every peer derives the broker from its own view
// with the same rule: the longest-running live peer (earliest start, then lowest peer id). A
// newcomer never displaces a live broker, and once views agree every peer names the same one.
//
// Deriving is not acting. The derived broker claims a new epoch (one above any it has seen)
// and acts as broker (numbers shared constants) only once every peer in its view has
// acknowledged that claim. A peer acknowledges at most one claimant per epoch, and only the
// one its own view names, so two candidates never both act as broker for the same epoch while
// their views share a peer. A peer alone acts at once: it is a mesh of its own, and claims a
// new epoch when its first peer arrives.

import type { PeerId, PeerInfo } from './wire.js'

export interface Member extends PeerInfo {
  load: number
  lastSeen: number
}

const ranksBefore = (a: PeerInfo, b: PeerInfo): boolean =>
  a.startedAt < b.startedAt || (a.startedAt === b.startedAt && a.id < b.id)

/** Votes remembered per epoch: enough to refuse a second claimant of any recent epoch. */
const VOTES_KEPT = 64

interface Claim {
  epoch: number
  at: number
  /** The peers that acknowledged it, with what each reported (e.g. the constants it holds). */
  reports: Map<PeerId, unknown>
  confirmed: boolean
}

export class BrokerElection {
  private readonly members = new Map<PeerId, Member>()
  private currentBroker: PeerId
  /** The highest epoch heard of or claimed. */
  private highestEpoch = 0
  /** This peer's claim, while its view names it broker. */
  private claim: Claim | undefined
  /** Whom this peer acknowledged, per epoch. */
  private readonly votes = new Map<number, PeerId>()
  /** The latest claim of each peer this peer could not acknowledge yet (its view named another). */
  private readonly heldClaims = new Map<PeerId, number>()
  /** Acknowledgements decided but not yet sent (see takeAcks). */
  private acks: Array<{ to: PeerId, epoch: number }> = []
  /** The epoch of the claim takeClaim last handed out to be sent. */
  private claimSent: number | undefined

  /**
   * `leaseMs`: a peer not heard from for this long leaves the view. `reclaimMs`: a claim not
   * acknowledged by everyone within this long is made again in a new epoch (some peer had
   * voted for another claimant in the old one).
   */
  constructor (private readonly self: PeerInfo, private readonly leaseMs: number, private readonly reclaimMs = leaseMs) {
    this.currentBroker = self.id
    this.startClaim(0)
  }

  /** The broker this peer's view names (it may not act yet: see `isBroker`). */
  get broker (): PeerInfo {
    return this.currentBroker === this.self.id ? this.self : (this.members.get(this.currentBroker) ?? this.self)
  }

  /** The highest epoch this peer has heard of or claimed. */
  get epoch (): number { return this.highestEpoch }

  /** True when this peer acts as broker: its view names it and every peer in it acknowledged its epoch. */
  get isBroker (): boolean { return this.claim?.confirmed === true }

  /** The epoch this peer claims while its view names it broker (confirmed or not), for its heartbeats. */
  get claimedEpoch (): number | undefined { return this.claim?.epoch }

  /** What the peers that acknowledged this peer's claim reported with their acks. */
  get claimReports (): ReadonlyMap<PeerId, unknown> { return this.claim?.reports ?? new Map() }

  /** Live peers, this one included. */
  get size (): number { return this.members.size + 1 }

  view (): Member[] { return [...this.members.values()] }

  /** A peer was heard from (heartbeat, hello, or any message carrying its info). */
  onPeerSeen (info: PeerInfo, load: number, now: number, epoch = 0): void {
    if (info.id === this.self.id) return
    this.noteEpoch(epoch, now)
    const known = this.members.get(info.id)
    if (known != null && known.startedAt === info.startedAt) {
      // A heartbeat of a known member cannot change the ranking: no need to re-rank the view.
      known.load = load
      known.lastSeen = now
      return
    }
    const wasAlone = this.members.size === 0
    this.members.set(info.id, { ...info, load, lastSeen: now })
    this.recompute(now)
    // Acting alone, this peer was a mesh of its own: it acts for this one only once its new
    // peer has acknowledged it (that peer may have acted alone in the same epoch).
    if (wasAlone && this.claim != null && this.currentBroker === this.self.id) this.startClaim(now)
  }

  onPeerLeft (id: PeerId, now = 0): void {
    this.heldClaims.delete(id)
    if (this.members.delete(id)) this.recompute(now)
    this.checkConfirmed()
  }

  /**
   * A peer claims the broker role for `epoch`. This peer acknowledges it (see takeAcks) if its
   * own view names that peer and it has not acknowledged another claimant for that epoch; a
   * claim its view does not back yet is held, and acknowledged if the view comes round to it.
   */
  onClaim (claimant: PeerId, epoch: number, now: number): void {
    if (claimant === this.self.id) return
    this.noteEpoch(epoch, now)
    this.heldClaims.set(claimant, epoch)
    this.ackHeldClaim()
  }

  /**
   * The epoch of this peer's unacknowledged claim, when it is to be sent to every linked peer:
   * once per claim, and again after each onTick while it is not acknowledged (peers that heard it
   * before their view named this peer hold it, and newcomers never heard it).
   */
  takeClaim (): number | undefined {
    const claim = this.claim
    if (claim == null || claim.confirmed || claim.epoch === this.claimSent) return undefined
    this.claimSent = claim.epoch
    return claim.epoch
  }

  /** The acknowledgements to send, each once. */
  takeAcks (): Array<{ to: PeerId, epoch: number }> {
    const out = this.acks
    this.acks = []
    return out
  }

  private ackHeldClaim (): void {
    const claimant = this.currentBroker
    const epoch = this.heldClaims.get(claimant)
    if (epoch === undefined || claimant === this.self.id) return
    this.heldClaims.delete(claimant)
    const vote = this.votes.get(epoch)
    if (vote !== undefined && vote !== claimant) return
    this.vote(epoch, claimant)
    this.acks.push({ to: claimant, epoch })
  }

  /** A peer acknowledged this peer's claim for `epoch`, with what it reports (see claimReports). */
  onAck (from: PeerId, epoch: number, report?: unknown): void {
    if (this.claim == null || this.claim.epoch !== epoch) return
    this.claim.reports.set(from, report)
    this.checkConfirmed()
  }

  /** Drops peers whose lease ran out (returns their ids); makes an unanswered claim again. */
  onTick (now: number): PeerId[] {
    const expired: PeerId[] = []
    for (const [id, m] of this.members) {
      if (now - m.lastSeen > this.leaseMs) expired.push(id)
    }
    for (const id of expired) { this.members.delete(id); this.heldClaims.delete(id) }
    if (expired.length > 0) this.recompute(now)
    if (this.claim != null && !this.claim.confirmed && now - this.claim.at > this.reclaimMs) this.startClaim(now)
    this.checkConfirmed()
    this.claimSent = undefined
    return expired
  }

  private noteEpoch (epoch: number, now: number): void {
    if (epoch <= this.highestEpoch) return
    this.highestEpoch = epoch
    // Someone claimed a later epoch: an unacknowledged claim of ours in an older one may never
    // win (peers may have voted there already): make it anew, above theirs. A confirmed one stands.
    if (this.claim != null && !this.claim.confirmed && this.claim.epoch < epoch) this.startClaim(now)
  }

  private recompute (now: number): void {
    let best: PeerInfo = this.self
    for (const m of this.members.values()) if (ranksBefore(m, best)) best = m
    if (best.id === this.currentBroker) return
    this.currentBroker = best.id
    if (best.id === this.self.id) this.startClaim(now)
    else this.claim = undefined
    this.ackHeldClaim()
  }

  private startClaim (now: number): void {
    const epoch = ++this.highestEpoch
    this.vote(epoch, this.self.id)
    this.claim = { epoch, at: now, reports: new Map(), confirmed: false }
    this.checkConfirmed()
  }

  private vote (epoch: number, peer: PeerId): void {
    this.votes.set(epoch, peer)
    if (this.votes.size > VOTES_KEPT) this.votes.delete(Math.min(...this.votes.keys()))
  }

  /** Confirmed once every peer in the view acknowledged; it stays so until the view names another. */
  private checkConfirmed (): void {
    const claim = this.claim
    if (claim == null || claim.confirmed) return
    for (const id of this.members.keys()) if (!claim.reports.has(id)) return
    claim.confirmed = true
  }
}
