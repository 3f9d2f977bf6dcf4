// Who runs a task that an executor submitted: the executor itself, at once and on its own
// thread, or its host, which hands it to a thief (or back to the executor). Both threads see
// one table in shared memory and the first to take a task runs it: a compare-and-swap, so a
// task never runs twice and neither side waits for the other.

import type { LocalRuns } from '../core/scheduler.js'

/**
 * Slots of the table. A task's slot is its seq modulo SLOTS; a task whose slot is still held by
 * an untaken older one (more than SLOTS untaken tasks at once) is not offered: the host alone
 * hands it out, as for an executor that does not run its own tasks.
 */
const SLOTS = 1 << 18
/** Int32 cells before the slots: [0] own tasks the executor is running now (not awaiting). */
const HEADER = 1
/** Offered seqs are stored as they are, taken ones negated: seqs must fit an Int32. */
const MAX_SEQ = 0x7fffffff

export class TaskClaims implements LocalRuns {
  private readonly cells: Int32Array

  constructor (readonly buffer: SharedArrayBuffer) {
    this.cells = new Int32Array(buffer)
  }

  /** A fresh table, made by the executor and shared with its host. */
  static create (): TaskClaims {
    return new TaskClaims(new SharedArrayBuffer((HEADER + SLOTS) * Int32Array.BYTES_PER_ELEMENT))
  }

  /** Executor: offers task `seq` to whichever side takes it first; false if it cannot be offered (see SLOTS). */
  offer (seq: number): boolean {
    if (seq > MAX_SEQ) return false
    const slot = HEADER + seq % SLOTS
    // A positive cell is an older task nobody has taken yet: its slot is not free.
    if (Atomics.load(this.cells, slot) > 0) return false
    Atomics.store(this.cells, slot, seq)
    return true
  }

  /** Either side: takes an offered task; true if it was not taken yet (the caller runs it). */
  take (seq: number): boolean {
    return Atomics.compareExchange(this.cells, HEADER + seq % SLOTS, seq, -seq) === seq
  }

  /** True once an offered task has been taken, by either side. */
  taken (seq: number): boolean {
    return Atomics.load(this.cells, HEADER + seq % SLOTS) !== seq
  }

  /** Own tasks the executor is running now, their synchronous part (the host counts them as busy). */
  get running (): number {
    return Atomics.load(this.cells, 0)
  }

  /** Executor: one more (1) or one fewer (-1) own task running. */
  addRunning (delta: number): void {
    Atomics.add(this.cells, 0, delta)
  }
}
