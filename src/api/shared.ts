// `shared`: SCOOP's shared constants. A name is defined once in the whole pool; every peer
// keeps a replica, and a task submitted after setConst returns always sees the constant.

import { runtime } from '../runtime/context.js'
import { encodeValue } from '../runtime/encoding.js'
import { checkWaitOptions, type WaitOptions } from '../runtime/waiting.js'
import { InvalidArgumentError } from '../errors.js'

/**
 * Defines constants from a plain object, all or none. Rejects with ConstantRedefinedError if
 * any name is already defined anywhere in the pool.
 *
 * @example
 * await shared.setConst({ target: 'c0ffee', alphabet: 'abcdef0123456789' })
 */
export async function setConst (constants: Record<string, unknown>): Promise<void> {
  if (constants == null || typeof constants !== 'object' || Array.isArray(constants)) {
    throw new InvalidArgumentError('shared.setConst: expected a plain object of name: value pairs')
  }
  const names = Object.keys(constants)
  if (names.length === 0) throw new InvalidArgumentError('shared.setConst: no constant given')
  const entries = names.map(name => ({ name, data: encodeValue(constants[name], `shared constant '${name}'`) }))
  await (await runtime()).setConst(entries)
}

/**
 * The value of a shared constant. Waits for a name not yet defined up to `timeout` ms
 * (default 10 000), then rejects with ConstantNotFoundError.
 */
export async function getConst<T = unknown> (name: string, options: WaitOptions = {}): Promise<T> {
  if (typeof name !== 'string') throw new InvalidArgumentError('shared.getConst: the name must be a string')
  checkWaitOptions(options, 'shared.getConst')
  return await (await runtime()).getConst(name, options) as T
}
