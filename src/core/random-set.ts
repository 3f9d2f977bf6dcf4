// A set with O(1) add, delete and uniform random pick: the scheduler picks steal victims and
// load-advert recipients at random among hundreds of peers on every decision, so neither may
// cost a scan of all peers. Items live in a dense array; a map gives each item's index, and a
// delete moves the last item into the hole.

export class RandomSet<T> {
  private readonly items: T[] = []
  private readonly indexOf = new Map<T, number>()

  get size (): number { return this.items.length }

  has (item: T): boolean { return this.indexOf.has(item) }

  add (item: T): void {
    if (this.indexOf.has(item)) return
    this.indexOf.set(item, this.items.length)
    this.items.push(item)
  }

  delete (item: T): boolean {
    const i = this.indexOf.get(item)
    if (i === undefined) return false
    const last = this.items.pop() as T
    this.indexOf.delete(item)
    if (i < this.items.length) {
      this.items[i] = last
      this.indexOf.set(last, i)
    }
    return true
  }

  /** A uniformly random item, or undefined if the set is empty. `random` is uniform in [0, 1). */
  pick (random: () => number): T | undefined {
    return this.items.length === 0 ? undefined : this.items[Math.floor(random() * this.items.length)]
  }

  /**
   * `count` distinct items chosen uniformly (all of them if there are no more), in O(count):
   * a partial Fisher–Yates shuffle of the front of the array, which keeps the set intact.
   */
  sample (count: number, random: () => number): T[] {
    const n = this.items.length
    if (count >= n) return [...this.items]
    const chosen: T[] = []
    for (let k = 0; k < count; k++) {
      const j = k + Math.floor(random() * (n - k))
      this.swap(k, j)
      chosen.push(this.items[k])
    }
    return chosen
  }

  [Symbol.iterator] (): IterableIterator<T> { return this.items[Symbol.iterator]() }

  private swap (i: number, j: number): void {
    if (i === j) return
    const a = this.items[i]
    const b = this.items[j]
    this.items[i] = b
    this.items[j] = a
    this.indexOf.set(b, i)
    this.indexOf.set(a, j)
  }
}
