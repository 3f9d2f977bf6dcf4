// How many items of a map go into the next chunk: geometric probes until one chunk has been
// timed, then chunks of about MAP_CHUNK_TARGET_MS of work, cut smaller near the end so every
// peer gets a share. Shared by futures.map and the simulator, so both cut work the same way.

import { MAP_CHUNK_MAX_BYTES, MAP_CHUNK_MAX_ITEMS, MAP_CHUNK_TARGET_MS } from '../defaults.js'

export class ChunkSizer {
  private perItemMs: number | undefined
  private probeSize = 1
  /** Probes already cut at probeSize. */
  private probesAtSize = 0

  /** True once a chunk's time has been measured; until then only a few probes should be in flight. */
  get measured (): boolean { return this.perItemMs !== undefined }

  /** A chunk of `items` items took `ms` on its executor. */
  observe (ms: number, items: number): void {
    const perItem = ms / items
    // Recent chunks weigh most: the first ones include the function's warm-up (JIT).
    this.perItemMs = this.perItemMs === undefined ? perItem : 0.5 * this.perItemMs + 0.5 * perItem
  }

  /**
   * The next chunk's size. `remaining`: items not yet submitted, if the input's length is known;
   * `peers`: live peers; `bytesPerItem`: encoded size seen so far (0 if unknown).
   */
  next (remaining: number | undefined, peers: number, bytesPerItem = 0): number {
    let size: number
    if (this.perItemMs === undefined) {
      // Nothing measured yet: grow geometrically so a slow function is not sent in one lump, but
      // only once every peer has had a probe of the current size. Doubling at every chunk made
      // a big pool's probes huge (hundreds of items of unknown cost, each later a long tail).
      size = this.probeSize
      if (++this.probesAtSize >= Math.max(1, peers)) {
        this.probeSize = Math.min(this.probeSize * 2, MAP_CHUNK_MAX_ITEMS)
        this.probesAtSize = 0
      }
    } else {
      size = Math.round(MAP_CHUNK_TARGET_MS / Math.max(this.perItemMs, 1e-6))
    }
    // Keep a few chunks per peer, so every peer gets a share and stealing can balance.
    if (remaining !== undefined) size = Math.min(size, Math.ceil(remaining / (4 * Math.max(1, peers))))
    if (bytesPerItem > 0) size = Math.min(size, Math.floor(MAP_CHUNK_MAX_BYTES / bytesPerItem))
    return Math.max(1, Math.min(size, MAP_CHUNK_MAX_ITEMS))
  }
}
