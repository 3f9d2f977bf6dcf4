// User values on the wire: a check that names the offending part before cbor-x sees it, and
// the transport of task errors (name, message, remote stack, peer) back to the caller.

import { encode, decode } from '../core/codec.js'
import { UnencodableValueError } from '../errors.js'

const PLAIN_PROTOTYPES = new Set<unknown>([Object.prototype, null, Array.prototype])
const DATA_CLASSES: Function[] = [Map, Set, Date, RegExp, ArrayBuffer, Error]

function isTypedArray (v: object): boolean { return ArrayBuffer.isView(v) }

/** Throws UnencodableValueError naming the first part of `value` that cannot travel. */
export function assertEncodable (value: unknown, where: string, seen = new Set<object>()): void {
  switch (typeof value) {
    case 'function':
      throw new UnencodableValueError(`${where} is a function; functions cannot be sent to other workers (pass an exported function as the task instead)`)
    case 'symbol':
      throw new UnencodableValueError(`${where} is a symbol and cannot be sent to other workers`)
    case 'object': {
      if (value === null) return
      if (seen.has(value)) throw new UnencodableValueError(`${where} refers back to itself (a cycle) and cannot be sent to other workers`)
      const proto = Object.getPrototypeOf(value)
      if (isTypedArray(value) || value instanceof ArrayBuffer || value instanceof Date || value instanceof RegExp) return
      if (!PLAIN_PROTOTYPES.has(proto) && !DATA_CLASSES.some(c => value instanceof c)) {
        const cls = (value as any).constructor?.name ?? 'unknown'
        throw new UnencodableValueError(`${where} is a ${cls} instance; only plain data (numbers, strings, booleans, bigints, arrays, plain objects, Map, Set, Date, typed arrays) can be sent to other workers`)
      }
      seen.add(value)
      if (value instanceof Map) {
        let k = 0
        for (const [key, v] of value) { assertEncodable(key, `${where}<key ${k}>`, seen); assertEncodable(v, `${where}.get(${String(key)})`, seen); k++ }
      } else if (value instanceof Set) {
        let k = 0
        for (const v of value) assertEncodable(v, `${where}<item ${k++}>`, seen)
      } else if (Array.isArray(value)) {
        for (let k = 0; k < value.length; k++) assertEncodable(value[k], `${where}[${k}]`, seen)
      } else if (!(value instanceof Error)) {
        for (const key of Object.keys(value)) assertEncodable((value as any)[key], `${where}.${key}`, seen)
      }
      seen.delete(value)
      return
    }
    default:
  }
}

/** Encodes a value after checking it; `where` names it in the error ("argument 2 of test"). */
export function encodeValue (value: unknown, where: string): Uint8Array {
  assertEncodable(value, where)
  try {
    return encode(value)
  } catch (err) {
    throw new UnencodableValueError(`${where} cannot be encoded: ${(err as Error).message}`)
  }
}

export { decode as decodeValue }

/** A task's error as it travels back to its owner. */
export interface SerializedError {
  name: string
  message: string
  stack: string
  peer: string
  code?: string | number
}

export function serializeError (err: unknown, peer: string): SerializedError {
  if (err instanceof Error) {
    const code = (err as any).code
    return {
      name: err.name,
      message: err.message,
      stack: err.stack ?? `${err.name}: ${err.message}`,
      peer,
      ...(typeof code === 'string' || typeof code === 'number' ? { code } : {})
    }
  }
  return { name: 'Error', message: `non-Error value thrown: ${safeString(err)}`, stack: '', peer }
}

const BUILTIN_ERRORS: Record<string, ErrorConstructor> = {
  Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError
}

/**
 * Rebuilds an error at the caller: same name and message (and class, for the builtin ones),
 * the caller's stack followed by the remote one, and `peer` saying where it ran.
 */
export function deserializeError (e: SerializedError): Error {
  const Ctor = BUILTIN_ERRORS[e.name] ?? Error
  const err = new Ctor(e.message) as Error & { peer: string, remoteStack: string, code?: string | number }
  if (err.name !== e.name) Object.defineProperty(err, 'name', { value: e.name, enumerable: false, configurable: true, writable: true })
  err.peer = e.peer
  err.remoteStack = e.stack
  if (e.code !== undefined) err.code = e.code
  err.stack = `${e.stack}\n    --- ran on ${e.peer}, raised at the caller:\n${(err.stack ?? '').split('\n').slice(1).join('\n')}`
  return err
}

function safeString (v: unknown): string {
  try { return String(v) } catch { return typeof v }
}
