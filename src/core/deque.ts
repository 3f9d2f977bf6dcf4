// A double-ended queue on a growable ring buffer: the owner pushes and pops at the back
// (newest, LIFO, depth-first for nested tasks); thieves take from the front (oldest, FIFO).

export class Deque<T> {
  // (Empty until the first push: a map in order, say, never uses its deque of results.)
  private items: Array<T | undefined> = []
  private head = 0
  private count = 0

  get length (): number { return this.count }

  push (item: T): void {
    if (this.count === this.items.length) this.grow()
    this.items[(this.head + this.count) % this.items.length] = item
    this.count++
  }

  /** Removes and returns the newest item. */
  pop (): T | undefined {
    if (this.count === 0) return undefined
    const i = (this.head + this.count - 1) % this.items.length
    const item = this.items[i]
    this.items[i] = undefined
    this.count--
    return item
  }

  /** The oldest item, left in place. */
  first (): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head]
  }

  /** The newest item, left in place. */
  last (): T | undefined {
    return this.count === 0 ? undefined : this.items[(this.head + this.count - 1) % this.items.length]
  }

  /** Removes and returns the oldest item. */
  shift (): T | undefined {
    if (this.count === 0) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined
    this.head = (this.head + 1) % this.items.length
    this.count--
    return item
  }

  /** Removes the items for which `predicate` holds, keeping the order of the rest. */
  removeWhere (predicate: (item: T) => boolean): T[] {
    const kept: T[] = []
    const removed: T[] = []
    for (let item = this.shift(); item !== undefined; item = this.shift()) {
      (predicate(item) ? removed : kept).push(item)
    }
    for (const item of kept) this.push(item)
    return removed
  }

  * [Symbol.iterator] (): IterableIterator<T> {
    for (let k = 0; k < this.count; k++) yield this.items[(this.head + k) % this.items.length] as T
  }

  private grow (): void {
    const bigger: Array<T | undefined> = new Array(Math.max(16, this.items.length * 2))
    for (let k = 0; k < this.count; k++) bigger[k] = this.items[(this.head + k) % this.items.length]
    this.items = bigger
    this.head = 0
  }
}
