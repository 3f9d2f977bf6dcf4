// User values on the wire: a check that names the offending part before cbor-x sees it, and
// the transport of task errors (name, message, remote stack, peer) back to the caller.

import { encode, decode } from '../core/codec.js'
import { UnencodableValueError } from '../errors.js'

const PLAIN_PROTOTYPES = new Set<unknown>([Object.prototype, null, Array.prototype])
const DATA_CLASSES: Function[] = [Map, Set, Date, RegExp, ArrayBuffer, Error]

/** A step into a value, kept raw while checking: the text of a path is built only for an error. */
type PathStep = number | string | { mapKey: unknown } | { setItem: number } | { mapKeyAt: number }

function describePath (where: string | (() => string), path: PathStep[]): string {
  let out = typeof where === 'string' ? where : where()
  for (const step of path) {
    if (typeof step === 'number') out += `[${step}]`
    else if (typeof step === 'string') out += `.${step}`
    else if ('mapKey' in step) out += `.get(${String(step.mapKey)})`
    else if ('setItem' in step) out += `<item ${step.setItem}>`
    else out += `<key ${step.mapKeyAt}>`
  }
  return out
}

/**
 * Throws UnencodableValueError naming the first part of `value` that cannot travel. `where`
 * names the value ("argument 1 of futures.submit(f)"); pass a function to build it only on error.
 */
export function assertEncodable (value: unknown, where: string | (() => string)): void {
  if (isImmutable(value)) return
  checkEncodable(value, where, [], new Set())
}

function checkEncodable (value: unknown, where: string | (() => string), path: PathStep[], seen: Set<object>): void {
  const fail = (problem: string): never => { throw new UnencodableValueError(`${describePath(where, path)} ${problem}`) }
  const child = (step: PathStep, v: unknown): void => {
    if (typeof v !== 'object' && typeof v !== 'function' && typeof v !== 'symbol') return
    path.push(step)
    checkEncodable(v, where, path, seen)
    path.pop()
  }
  switch (typeof value) {
    case 'function':
      return fail('is a function; functions cannot be sent to other workers (pass an exported function as the task instead)')
    case 'symbol':
      return fail('is a symbol and cannot be sent to other workers')
    case 'object': {
      if (value === null) return
      if (seen.has(value)) return fail('refers back to itself (a cycle) and cannot be sent to other workers')
      if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Date || value instanceof RegExp) return
      if (!PLAIN_PROTOTYPES.has(Object.getPrototypeOf(value)) && !DATA_CLASSES.some(c => value instanceof c)) {
        const cls = (value as any).constructor?.name ?? 'unknown'
        return fail(`is a ${cls} instance; only plain data (numbers, strings, booleans, bigints, arrays, plain objects, Map, Set, Date, typed arrays) can be sent to other workers`)
      }
      seen.add(value)
      if (value instanceof Map) {
        let k = 0
        for (const [key, v] of value) { child({ mapKeyAt: k++ }, key); child({ mapKey: key }, v) }
      } else if (value instanceof Set) {
        let k = 0
        for (const v of value) child({ setItem: k++ }, v)
      } else if (Array.isArray(value)) {
        for (let k = 0; k < value.length; k++) child(k, value[k])
      } else if (!(value instanceof Error)) {
        for (const key of Object.keys(value)) child(key, (value as any)[key])
      }
      seen.delete(value)
      return
    }
    default:
  }
}

/**
 * True for the values that reach another thread or peer unchanged and need no copy there:
 * null, undefined, booleans, numbers, strings, bigints (not symbols, not objects).
 */
export function isImmutable (value: unknown): boolean {
  const type = typeof value
  return value === null || (type !== 'object' && type !== 'function' && type !== 'symbol')
}

/** Encodes a value already checked (or known plain); cbor-x's own refusals become UnencodableValueError. */
export function encodeChecked (value: unknown, where: string | (() => string)): Uint8Array {
  try {
    return encode(value)
  } catch (err) {
    throw new UnencodableValueError(`${typeof where === 'string' ? where : where()} cannot be encoded: ${(err as Error).message}`)
  }
}

/** Checks, then encodes a value; `where` names it in the error ("the result of f"). */
export function encodeValue (value: unknown, where: string | (() => string)): Uint8Array {
  assertEncodable(value, where)
  return encodeChecked(value, where)
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
