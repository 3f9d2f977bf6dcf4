// How a batch of messages between a host and its executor thread travels. In a batch of
// PACK_FROM messages or more, the per-task messages (submit, run, result, resolve, ...) are
// packed into one array of numbers and one buffer of bytes, which are transferred, not cloned;
// the few other messages go as objects. Structured clone of one small object per task cost 3-5
// µs on this project's 2-core machine, a packed one about 0.6 µs; but packing costs two buffers
// per batch, more than it saves for a batch of one or two (bench/profile/README.md).

/** The kinds of message that are packed, by their code in a row. */
const PACKED_KINDS = ['submit', 'run', 'result', 'ownResult', 'resolve', 'yield', 'started'] as const
type PackedKind = typeof PACKED_KINDS[number]
const KIND_CODE = new Map<string, number>(PACKED_KINDS.map((k, code) => [k, code]))

/** The fields a packed message may have (each kind uses some of them). */
interface PackedFields {
  k: PackedKind
  seq: number
  owner?: string
  fn?: string
  peer?: string
  payload?: Uint8Array
  data?: Uint8Array
  chunk?: number
  ms?: number
  ok?: boolean
  offered?: boolean
  retries?: number
}

/**
 * A row: kind, seq, a number (chunk or ms), retries (-1: none), flags (ok, offered), two string
 * indexes (owner, fn or peer; -1: none), end of its bytes. Doubles hold all of them exactly.
 */
const ROW = 8
const OK = 1
const OFFERED = 2

/** Smaller batches go as a list of objects (see above). */
const PACK_FROM = 8

/** What a batch is on the port: a list of messages, or packed. */
export type PortBatch = unknown[] | PackedBatch

export interface PackedBatch {
  rows: Float64Array
  bytes: Uint8Array
  strings: string[]
  /** The other messages, each with the number of packed rows that come before it. */
  others: Array<[number, unknown]>
}

export class BatchPacker {
  /** The batch so far, while it is too small to pack. */
  private listed: Array<{ k: string }> = []
  private packing = false
  private rows = new Float64Array(ROW * 16)
  private bytes = new Uint8Array(1024)
  private count = 0
  private bytesUsed = 0
  private strings: string[] = []
  private stringIndex = new Map<string, number>()
  private others: Array<[number, unknown]> = []

  get length (): number { return this.listed.length + this.count + this.others.length }

  add (msg: { k: string }): void {
    if (this.packing) {
      this.pack(msg)
      return
    }
    this.listed.push(msg)
    if (this.listed.length < PACK_FROM) return
    this.packing = true
    for (const listed of this.listed) this.pack(listed)
    this.listed = []
  }

  /** The batch to post (with the buffers to transfer), and a fresh start. */
  take (): { batch: PortBatch, transfer: ArrayBuffer[] } {
    if (!this.packing) {
      const batch = this.listed.map(withOwnBytes)
      this.listed = []
      return { batch, transfer: [] }
    }
    const batch: PackedBatch = {
      rows: this.rows.slice(0, this.count * ROW),
      bytes: this.bytes.slice(0, this.bytesUsed),
      strings: this.strings,
      others: this.others
    }
    this.packing = false
    this.count = 0
    this.bytesUsed = 0
    this.strings = []
    this.stringIndex = new Map()
    this.others = []
    return { batch, transfer: [batch.rows.buffer as ArrayBuffer, batch.bytes.buffer as ArrayBuffer] }
  }

  private pack (msg: { k: string }): void {
    if (!KIND_CODE.has(msg.k)) {
      this.others.push([this.count, msg])
      return
    }
    const m = msg as PackedFields
    if ((this.count + 1) * ROW > this.rows.length) this.rows = grown(this.rows, (this.count + 1) * ROW)
    const bytes = m.payload ?? m.data
    if (bytes !== undefined) {
      if (this.bytesUsed + bytes.byteLength > this.bytes.length) this.bytes = grown(this.bytes, this.bytesUsed + bytes.byteLength)
      this.bytes.set(bytes, this.bytesUsed)
      this.bytesUsed += bytes.byteLength
    }
    const at = this.count * ROW
    const rows = this.rows
    rows[at] = KIND_CODE.get(m.k) as number
    rows[at + 1] = m.seq
    rows[at + 2] = m.chunk ?? m.ms ?? 0
    rows[at + 3] = m.retries ?? -1
    rows[at + 4] = (m.ok === true ? OK : 0) | (m.offered === true ? OFFERED : 0)
    rows[at + 5] = this.stringAt(m.owner ?? m.peer ?? (m.k === 'submit' ? m.fn : undefined))
    rows[at + 6] = this.stringAt(m.k === 'submit' ? undefined : m.fn)
    rows[at + 7] = this.bytesUsed
    this.count++
  }

  private stringAt (text: string | undefined): number {
    if (text === undefined) return -1
    let index = this.stringIndex.get(text)
    if (index === undefined) {
      index = this.strings.length
      this.strings.push(text)
      this.stringIndex.set(text, index)
    }
    return index
  }
}

/**
 * A message of a listed batch, with bytes of their own: a view into a larger buffer (a packed
 * batch's, say) would be cloned with all of that buffer.
 */
function withOwnBytes (msg: { k: string }): { k: string } {
  const m = msg as { payload?: Uint8Array, data?: Uint8Array }
  const bytes = m.payload ?? m.data
  if (bytes === undefined || (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength)) return msg
  // (Not bytes.slice(): on a Buffer that is another view.)
  return { ...msg, [m.payload !== undefined ? 'payload' : 'data']: Uint8Array.prototype.slice.call(bytes) }
}

/**
 * The messages of a batch, in the order they were posted. A packed batch's bytes are views into
 * its one buffer: a message that keeps them keeps that buffer (BatchPacker copies them out again).
 */
export function unpackBatch<M> (batch: PortBatch): M[] {
  if (Array.isArray(batch)) return batch as M[]
  const { rows, bytes, strings, others } = batch
  const out: unknown[] = []
  let other = 0
  let start = 0
  for (let at = 0; at < rows.length; at += ROW) {
    while (other < others.length && others[other][0] * ROW <= at) out.push(others[other++][1])
    const end = rows[at + 7]
    const view = bytes.subarray(start, end)
    start = end
    const seq = rows[at + 1]
    const number = rows[at + 2]
    const flags = rows[at + 4]
    const text1 = rows[at + 5] >= 0 ? strings[rows[at + 5]] : ''
    const ok = (flags & OK) !== 0
    switch (PACKED_KINDS[rows[at]]) {
      case 'submit': {
        const retries = rows[at + 3]
        out.push({ k: 'submit', seq, fn: text1, payload: view, chunk: number, ...(retries >= 0 ? { retries } : {}), ...((flags & OFFERED) !== 0 ? { offered: true } : {}) })
        break
      }
      case 'run': out.push({ k: 'run', owner: text1, seq, fn: strings[rows[at + 6]], payload: view, chunk: number }); break
      case 'result': out.push({ k: 'result', owner: text1, seq, ok, data: view, ms: number }); break
      case 'ownResult': out.push({ k: 'ownResult', seq, ok, data: view, ms: number }); break
      case 'resolve': out.push({ k: 'resolve', seq, ok, data: view, peer: text1, ms: number }); break
      case 'yield': out.push({ k: 'yield', owner: text1, seq }); break
      case 'started': out.push({ k: 'started', seq }); break
    }
  }
  while (other < others.length) out.push(others[other++][1])
  return out as M[]
}

function grown<T extends Float64Array | Uint8Array> (array: T, atLeast: number): T {
  const bigger = new (array.constructor as new (length: number) => T)(Math.max(atLeast, array.length * 2))
  bigger.set(array)
  return bigger
}
