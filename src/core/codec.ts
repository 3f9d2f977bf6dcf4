// The one cbor-x configuration used for frames and for user values, so both ends agree:
// self-contained values (no shared record structures), Maps kept apart from plain objects.

import { Encoder } from 'cbor-x'

export const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, useTag259ForMaps: true, tagUint8Array: false } as ConstructorParameters<typeof Encoder>[0])

export const encode = (value: unknown): Uint8Array => cbor.encode(value)
export const decode = (bytes: Uint8Array): unknown => cbor.decode(bytes)
