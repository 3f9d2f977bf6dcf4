// Simulated workloads submitted on the origin peer: a flat map cut into chunks the way
// runtime/map-run.ts cuts it (probe chunks, then chunks sized by measured time per item), and a
// nested binary tree whose inner tasks wait for their two children.

import { MAP_WINDOW_ITEMS_PER_PEER } from '../defaults.js'
import { ChunkSizer } from '../core/chunking.js'
import type { SimWorld, TaskSpec, VirtualPeer } from './world.js'

/** cbor of one small number argument list or result: what a map item weighs on the wire. */
const BYTES_PER_ITEM = 9

export type Chunking = 'adaptive' | 'none'

/**
 * The origin's side of one futures.map: keeps a window of chunks in flight and refills it as
 * results come back. 'adaptive' mirrors MapRun.chunkSize; 'none' submits every item as its own
 * task at once (the scheduler alone, no chunking).
 */
export class FlatMapFeeder {
  pulled = 0
  consumed = 0
  chunks = 0
  duplicates = 0
  finishedAt: number | undefined
  private readonly inFlight = new Map<number, number>()
  private readonly sizer = new ChunkSizer()

  constructor (
    private readonly world: SimWorld,
    private readonly origin: VirtualPeer,
    readonly total: number,
    private readonly itemMs: () => number,
    private readonly chunking: Chunking
  ) {}

  get done (): boolean { return this.consumed >= this.total }

  start (): void {
    this.refill()
    this.world.drain(this.origin)
  }

  /** The origin resolved one of its tasks: if it is one of ours, take its items and refill. */
  onResolve (seq: number, ms: number): void {
    const count = this.inFlight.get(seq)
    if (count === undefined) { this.duplicates++; return }
    this.inFlight.delete(seq)
    this.consumed += count
    this.sizer.observe(ms, count)
    if (this.done) this.finishedAt = this.world.now
    this.refill()
  }

  private refill (): void {
    // MapRun reads the pool size from the election's view; linked peers are the same set here
    // and stay right when the world runs without elections.
    const size = this.origin.linkedCount + 1
    const window = this.chunking === 'none' ? Infinity : MAP_WINDOW_ITEMS_PER_PEER * size
    while (this.pulled < this.total && this.pulled - this.consumed < window) {
      if (this.chunking === 'adaptive' && !this.sizer.measured && this.inFlight.size >= 2 * size) break
      const room = window - (this.pulled - this.consumed)
      const wanted = this.chunkSize(size)
      if (room < wanted && this.inFlight.size > 0) break
      const count = Math.min(wanted, room, this.total - this.pulled)
      let ms = 0
      for (let k = 0; k < count; k++) ms += this.itemMs()
      const spec: TaskSpec = { ms, items: count, payloadBytes: BYTES_PER_ITEM * count, resultBytes: BYTES_PER_ITEM * count }
      this.inFlight.set(this.world.submit(this.origin, spec), count)
      this.pulled += count
      this.chunks++
    }
  }

  private chunkSize (size: number): number {
    return this.chunking === 'none' ? 1 : this.sizer.next(this.total - this.pulled, size)
  }
}

/** A full binary tree of `depth` levels below the root: leaves work, inner tasks only wait. */
export function treeSpec (depth: number, leafMs: () => number): TaskSpec {
  const node = (level: number): TaskSpec => level >= depth
    ? { ms: leafMs(), items: 0, payloadBytes: BYTES_PER_ITEM, resultBytes: BYTES_PER_ITEM }
    : { ms: 0, items: 0, payloadBytes: BYTES_PER_ITEM, resultBytes: BYTES_PER_ITEM, spawn: () => [node(level + 1), node(level + 1)] }
  return node(0)
}
