// A small seeded pseudo-random generator (mulberry32) for the simulator: every random choice
// in a simulated run comes from one of these, so the same seed replays the same run exactly.
// Math.random is never used here.

export class SeededRandom {
  private state: number

  constructor (seed: number) {
    this.state = seed >>> 0
  }

  /** Uniform in [0, 1). */
  next (): number {
    this.state = (this.state + 0x6D2B79F5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** Integer in [0, n). */
  int (n: number): number {
    return Math.floor(this.next() * n)
  }

  /**
   * An independent stream for one purpose (a peer, the network), derived from this seed and a
   * label: adding draws to one stream must not shift the others, or small changes would
   * reshuffle a whole run.
   */
  static derive (seed: number, label: number): SeededRandom {
    let h = (seed ^ Math.imul(label + 1, 0x9E3779B1)) >>> 0
    h = Math.imul(h ^ (h >>> 16), 0x85EBCA6B) >>> 0
    h = Math.imul(h ^ (h >>> 13), 0xC2B2AE35) >>> 0
    return new SeededRandom((h ^ (h >>> 16)) >>> 0)
  }
}
