// Function references: functions travel as names, never as source text. A name is either an
// export of the run's module (`export:<name>`, re-exports included) or a well-known builtin
// (`builtin:Math.abs`). Every peer resolves names against its own import of the module.

import { FunctionReferenceError } from '../errors.js'
import type { FunctionRef } from '../core/wire.js'

function builtinTable (): Map<Function, string> {
  const table = new Map<Function, string>()
  const add = (path: string, value: unknown): void => {
    if (typeof value === 'function' && !table.has(value)) table.set(value, path)
  }
  for (const holder of ['Math', 'JSON', 'Number', 'Object', 'Array', 'String', 'BigInt', 'Date', 'Reflect']) {
    const object = (globalThis as any)[holder]
    for (const key of Object.getOwnPropertyNames(object)) {
      if (key === 'prototype' || key === 'constructor') continue
      add(`${holder}.${key}`, object[key])
    }
  }
  for (const name of ['String', 'Number', 'Boolean', 'BigInt', 'parseInt', 'parseFloat', 'isFinite', 'isNaN',
    'encodeURIComponent', 'decodeURIComponent', 'encodeURI', 'decodeURI', 'structuredClone']) {
    add(name, (globalThis as any)[name])
  }
  return table
}

const BUILTINS = builtinTable()
const BUILTIN_BY_PATH = new Map([...BUILTINS].map(([fn, path]) => [path, fn]))

export class FunctionRegistry {
  /** The reference of each function known to be an export (the origin's own copies included, once matched). */
  private readonly refOf = new Map<Function, FunctionRef>()
  private readonly byExport = new Map<string, Function>()
  /** Functions by reference, as resolved so far. */
  private readonly resolved = new Map<FunctionRef, Function>()
  /** Source text of each exported function, to recognise the origin's own copy of an export. */
  private readonly sourceOf = new Map<string, string>()
  private loaded = false

  constructor (readonly moduleUrl: string) {}

  get ready (): boolean { return this.loaded }

  /** Checks what can be checked before the module's exports are known: a named, unbound function. */
  static precheck (fn: unknown, call: string): void {
    if (typeof fn !== 'function') {
      throw new FunctionReferenceError(`${call}: expected a function as the task, got ${fn === null ? 'null' : typeof fn}`)
    }
    if (BUILTINS.has(fn)) return
    if (fn.name === '' || fn.name.startsWith('bound ')) throw new FunctionReferenceError(describeProblem(fn, call, 'the script'))
  }

  /** Records the exported functions of the run's module namespace (re-exports included). */
  addNamespace (ns: Record<string, unknown>): void {
    this.resolved.clear()
    for (const key of Object.keys(ns)) {
      let value: unknown
      try { value = ns[key] } catch { continue } // an export still in its temporal dead zone
      if (typeof value !== 'function') continue
      if (!this.refOf.has(value)) this.refOf.set(value, `export:${key}`)
      this.byExport.set(key, value)
      this.sourceOf.set(key, Function.prototype.toString.call(value))
    }
    this.loaded = true
  }

  /**
   * The reference to send for `fn`, or a FunctionReferenceError saying how to fix the call.
   * `call` names the API call in the message ("futures.map").
   */
  referenceOf (fn: unknown, call: string): FunctionRef {
    if (typeof fn !== 'function') {
      throw new FunctionReferenceError(`${call}: expected a function as the task, got ${fn === null ? 'null' : typeof fn}`)
    }
    const builtin = BUILTINS.get(fn)
    if (builtin !== undefined) return `builtin:${builtin}`
    const known = this.refOf.get(fn)
    if (known !== undefined) return known
    // The origin's main part holds its own instance of the module: match by name and source,
    // once (a submit loop would compare the source text at every call).
    const name = fn.name
    if (name !== '' && this.sourceOf.get(name) === Function.prototype.toString.call(fn)) {
      const ref = `export:${name}`
      this.refOf.set(fn, ref)
      return ref
    }
    throw new FunctionReferenceError(describeProblem(fn, call, this.moduleUrl))
  }

  resolve (ref: FunctionRef): Function {
    const known = this.resolved.get(ref)
    if (known !== undefined) return known
    const colon = ref.indexOf(':')
    const kind = ref.slice(0, colon)
    const name = ref.slice(colon + 1)
    const fn = kind === 'builtin' ? BUILTIN_BY_PATH.get(name) : kind === 'export' ? this.byExport.get(name) : undefined
    if (fn === undefined) {
      throw new FunctionReferenceError(`task function '${ref}' is not ${kind === 'builtin' ? 'a known builtin' : `an export of ${this.moduleUrl}`} on this worker`)
    }
    this.resolved.set(ref, fn)
    return fn
  }
}

function describeProblem (fn: Function, call: string, moduleUrl: string): string {
  const name = fn.name
  const fix = `Tasks travel to other workers by name: define the function at the top level of ${moduleUrl} ` +
    '(or a module it re-exports) and export it, e.g. `export function f(x) { ... }`; pass data as arguments instead of capturing it.'
  if (name === '') return `${call}: an anonymous function cannot be sent to other workers. ${fix}`
  if (name.startsWith('bound ')) return `${call}: the bound function '${name}' cannot be sent to other workers; pass the bound values as arguments. ${fix}`
  return `${call}: function '${name}' is not an export of the run's module, so other workers cannot find it (closures and unexported functions cannot travel). ${fix}`
}
