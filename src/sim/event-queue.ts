// The simulator's clock: a binary min-heap of events keyed by (time, sequence). The sequence
// number breaks ties in insertion order, so two events at the same virtual time always run in
// the same order and a run replays identically.

export interface SimEvent {
  time: number
  seq: number
  run: () => void
}

const before = (a: SimEvent, b: SimEvent): boolean => a.time < b.time || (a.time === b.time && a.seq < b.seq)

export class EventQueue {
  private readonly heap: SimEvent[] = []
  private nextSeq = 0

  /** Time of the earliest event, if any. */
  peekTime (): number | undefined { return this.heap[0]?.time }

  push (time: number, run: () => void): void {
    const heap = this.heap
    const event: SimEvent = { time, seq: this.nextSeq++, run }
    let i = heap.length
    heap.push(event)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(event, heap[parent])) break
      heap[i] = heap[parent]
      i = parent
    }
    heap[i] = event
  }

  pop (): SimEvent | undefined {
    const heap = this.heap
    const top = heap[0]
    if (top === undefined) return undefined
    const last = heap.pop() as SimEvent
    if (heap.length === 0) return top
    let i = 0
    const n = heap.length
    for (;;) {
      const left = 2 * i + 1
      if (left >= n) break
      const right = left + 1
      const child = right < n && before(heap[right], heap[left]) ? right : left
      if (!before(heap[child], last)) break
      heap[i] = heap[child]
      i = child
    }
    heap[i] = last
    return top
  }
}
