// Frames on a task stream: a varint length, then a cbor list of messages. The decoder
// refuses oversized frames and anything that is not a list of well-formed messages.

import { LengthPrefixedDecoder } from '@libp2p/utils'
import * as varint from 'uint8-varint'
import { encode, decode } from '../core/codec.js'
import { parseFrame, InvalidFrameError, type WireMessage } from '../core/wire.js'
import { MAX_FRAME_BYTES } from '../defaults.js'

export class FrameEncoder {
  encode (messages: WireMessage[]): Uint8Array {
    const body = encode(messages)
    const prefix = varint.encode(body.byteLength)
    const frame = new Uint8Array(prefix.byteLength + body.byteLength)
    frame.set(prefix, 0)
    frame.set(body, prefix.byteLength)
    return frame
  }
}

export class FrameDecoder {
  private readonly lengthPrefixed = new LengthPrefixedDecoder({
    maxDataLength: MAX_FRAME_BYTES,
    maxBufferSize: MAX_FRAME_BYTES + 16
  })

  /** Feeds received bytes; returns the complete frames, validated. Throws on a bad frame. */
  decode (chunk: Uint8Array | { subarray: () => Uint8Array }): WireMessage[][] {
    const frames: WireMessage[][] = []
    const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
    for (const body of this.lengthPrefixed.decode(bytes)) {
      let decoded: unknown
      try {
        decoded = decode(body.subarray())
      } catch (err) {
        throw new InvalidFrameError(`undecodable frame: ${(err as Error).message}`)
      }
      frames.push(parseFrame(decoded))
    }
    return frames
  }
}
