// The tasks a peer owned that finished lately, numbered, so that dashboards can follow them by
// asking for those after the last number they saw. Bounded: a dashboard that asks too rarely
// misses the oldest.

import type { TaskEvent } from '../core/wire.js'

/** Finished tasks kept per peer, and handed out per request. */
const KEPT = 2000
const PER_ANSWER = 1000

export class TaskLog {
  /** The newest KEPT of these count; older ones are cut in batches, not on every add (this is on every task's path). */
  private readonly events: TaskEvent[] = []
  /** Number of the newest event; events[i] is number last - events.length + 1 + i. */
  private last = 0

  add (event: TaskEvent): void {
    this.events.push(event)
    this.last++
    if (this.events.length > 2 * KEPT) this.events.splice(0, this.events.length - KEPT)
  }

  /** Events numbered above `after` (the oldest first, at most PER_ANSWER), and the number of the last one given. */
  after (after: number): { last: number, events: TaskEvent[] } {
    const kept = Math.min(this.events.length, KEPT)
    const offset = this.events.length - kept
    const first = this.last - kept + 1
    const from = Math.max(0, Math.min(kept, after + 1 - first))
    const events = this.events.slice(offset + from, offset + from + PER_ANSWER)
    return { last: first + from + events.length - 1, events }
  }
}
