// Which role this thread plays, and its executor once the mesh is up. The context lives on
// globalThis so that two copies of this package loaded in one thread still share it.

import type { ExecutorRuntime } from './executor.js'
import { MeshError } from '../errors.js'

export type Role =
  /** A thread running tasks for a worker peer: the user's module is imported, its main part skipped. */
  | 'worker'
  /** The thread running the user's main part (launched by scoop-node, or a plain `node script.js`). */
  | 'origin'

interface ThreadContext {
  role: Role
  runtime?: ExecutorRuntime
  starting?: Promise<ExecutorRuntime>
  /** True while the origin imports its module's exports without running the main part. */
  importingExports: boolean
  /** Starts a local mesh for a script run without the launcher (set by the launch layer). */
  startEmbedded?: () => Promise<ExecutorRuntime>
}

const KEY = Symbol.for('scoop-node.thread-context')

export function threadContext (): ThreadContext {
  const g = globalThis as any
  g[KEY] ??= { role: 'origin', importingExports: false } satisfies ThreadContext
  return g[KEY]
}

/** The executor of this thread, starting the embedded mesh on first use if there is none. */
export async function runtime (): Promise<ExecutorRuntime> {
  const ctx = threadContext()
  if (ctx.runtime != null) return ctx.runtime
  if (ctx.starting == null) {
    if (ctx.startEmbedded == null) throw new Error('scoop-node: no mesh in this thread and no way to start one')
    ctx.starting = ctx.startEmbedded().then(rt => { ctx.runtime = rt; return rt })
  }
  return await ctx.starting
}

/**
 * The executor, for `call`, which submits tasks. Such a call made while the script is imported
 * for its exported functions (every worker imports it, and the launcher's origin a copy) cannot
 * name its function: it is the script's main part outside `if (scoop.isOrigin)`: say so. (A
 * plain `node script.js` is not caught here: its main part's own calls also come while the copy
 * is imported, as the embedded mesh starts.)
 */
export async function taskRuntime (call: string): Promise<ExecutorRuntime> {
  const ctx = threadContext()
  if (ctx.runtime != null && !ctx.runtime.registry.ready) {
    throw new MeshError(`${call} was called while the script was imported for its exported functions (${ctx.role === 'worker' ? 'on a worker' : 'the origin\'s copy'}): ` +
      'every worker imports the script, so put its main part under `if (scoop.isOrigin) { ... }`, where it runs once, on the origin')
  }
  return await runtime()
}

/** The executor if it is up and can check function references synchronously. */
export function readyRuntime (): ExecutorRuntime | undefined {
  const rt = threadContext().runtime
  return rt?.registry.ready === true ? rt : undefined
}

/**
 * Imports the run's module for its exports only (`scoop.isOrigin` reads false meanwhile), so the
 * origin can name its functions the way workers resolve them.
 */
export async function importExports (moduleUrl: string): Promise<Record<string, unknown>> {
  const ctx = threadContext()
  ctx.importingExports = true
  try {
    const separator = moduleUrl.includes('?') ? '&' : '?'
    return await import(`${moduleUrl}${separator}scoop-exports`)
  } finally {
    ctx.importingExports = false
  }
}
