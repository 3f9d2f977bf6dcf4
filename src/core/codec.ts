// The one cbor-x configuration used for frames and for user values, so both ends agree:
// self-contained values (no shared record structures), Maps kept apart from plain objects.
//
// Decoded byte strings are copies, each with its own ArrayBuffer: cbor-x would otherwise hand
// out views into the whole received frame (up to MAX_FRAME_BYTES), which a small task payload
// kept alive for as long as it waited in a queue. Encoded values are views into cbor-x's encode
// target (8 KiB or more, shared by the values encoded after each other, never overwritten):
// what sends them to another thread copies them out (BatchPacker), a frame copies them in.

// 'cbor-x/encode' is cbor-x itself without its native string extractor (cbor-extract): loading
// that addon probes the platform (node-gyp-build's musl check writes a process report) and cost
// ~15 ms in every thread that imports this, the script's thread's start included; frames of a
// task mesh are small, where cbor-x's JavaScript decoder is as fast.
import { Encoder } from 'cbor-x/encode'

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, useTag259ForMaps: true, tagUint8Array: false, copyBuffers: true } as ConstructorParameters<typeof Encoder>[0])

export const encode = (value: unknown): Uint8Array => cbor.encode(value)
export const decode = (bytes: Uint8Array): unknown => cbor.decode(bytes)
