// The one cbor-x configuration used for frames and for user values, so both ends agree:
// self-contained values (no shared record structures), Maps kept apart from plain objects.
//
// Byte strings are always compact, each with its own ArrayBuffer: cbor-x would otherwise hand
// out views into a larger buffer (its reused encode target, or a whole received frame), and a
// view sent to another thread is cloned with all of its buffer: one 40-byte task payload cost
// a copy of its 512 KiB frame per postMessage, and kept that frame alive as long as it lived.

import { Encoder } from 'cbor-x'

export const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, useTag259ForMaps: true, tagUint8Array: false, copyBuffers: true } as ConstructorParameters<typeof Encoder>[0])

const copyOf = (view: Uint8Array): Uint8Array => Uint8Array.prototype.slice.call(view)

/** Encodes a value into bytes of its own (see above). */
export const encode = (value: unknown): Uint8Array => copyOf(cbor.encode(value))
export const decode = (bytes: Uint8Array): unknown => cbor.decode(bytes)
