// Raw frames for tests that feed a peer bytes by hand.
import * as varint from 'uint8-varint'

/** `body` behind a varint length prefix, as on a task stream. */
export function withLengthPrefix (body: Uint8Array): Uint8Array {
  const prefix = varint.encode(body.byteLength)
  const out = new Uint8Array(prefix.byteLength + body.byteLength)
  out.set(prefix)
  out.set(body, prefix.byteLength)
  return out
}
