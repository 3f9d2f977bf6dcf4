// Shared constants (SCOOP's shared.setConst/getConst): every peer keeps a replica; the peer
// holding the broker role numbers new definitions so that a name is defined once per pool.

import type { ConstEntry } from './wire.js'

export class ConstStore {
  private readonly bySeq = new Map<number, ConstEntry>()
  private readonly byName = new Map<string, ConstEntry>()
  /** Entries by the request that defined them (see ConstEntry.by). */
  private readonly byRequest = new Map<string, ConstEntry[]>()
  /** Every entry with seq ≤ contiguous is here. */
  private contiguousSeq = 0
  private maxSeq = 0

  get contiguous (): number { return this.contiguousSeq }
  get highest (): number { return this.maxSeq }

  has (name: string): boolean { return this.byName.has(name) }
  get (name: string): ConstEntry | undefined { return this.byName.get(name) }

  /** Stores an entry; returns false if it was already known. */
  add (entry: ConstEntry): boolean {
    if (this.bySeq.has(entry.seq)) return false
    this.bySeq.set(entry.seq, entry)
    if (!this.byName.has(entry.name)) this.byName.set(entry.name, entry)
    if (entry.by !== undefined) {
      const defined = this.byRequest.get(entry.by)
      if (defined === undefined) this.byRequest.set(entry.by, [entry])
      else defined.push(entry)
    }
    this.maxSeq = Math.max(this.maxSeq, entry.seq)
    while (this.bySeq.has(this.contiguousSeq + 1)) this.contiguousSeq++
    return true
  }

  /** The entries a setConst request defined, if it did. */
  definedBy (request: string): ConstEntry[] | undefined { return this.byRequest.get(request) }

  /** Entries with seq > after, in order. */
  after (after: number): ConstEntry[] {
    return [...this.bySeq.values()].filter(e => e.seq > after).sort((a, b) => a.seq - b.seq)
  }

  /**
   * Broker side: numbers a definition of several names at once, all or nothing.
   * Returns the new entries, or the name that is already defined (or repeated).
   */
  define (entries: Array<{ name: string, data: Uint8Array }>, by?: string): { entries: ConstEntry[] } | { duplicate: string } {
    const seen = new Set<string>()
    for (const { name } of entries) {
      if (this.byName.has(name) || seen.has(name)) return { duplicate: name }
      seen.add(name)
    }
    const numbered: ConstEntry[] = entries.map((e, k) => ({ seq: this.maxSeq + 1 + k, name: e.name, data: e.data, ...(by !== undefined ? { by } : {}) }))
    for (const entry of numbered) this.add(entry)
    return { entries: numbered }
  }
}
