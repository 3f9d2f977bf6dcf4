/**
 * scoop-node: SCOOP's `futures.map` for TypeScript and Node, on a peer-to-peer libp2p mesh.
 *
 * @example
 * ```ts
 * // pi.ts: run with `npx scoop-node -n 2 pi.ts`, or `npx tsx pi.ts` for one worker per core
 * import { futures, scoop } from 'scoop-node'
 *
 * export function hits (tries: number): number {
 *   let n = 0
 *   for (let i = 0; i < tries; i++) if (Math.hypot(Math.random(), Math.random()) < 1) n++
 *   return n
 * }
 *
 * if (scoop.isOrigin) {
 *   const counts = await futures.map(hits, Array(3000).fill(5000))
 *   console.log(4 * counts.reduce((a, b) => a + b) / (3000 * 5000))
 * }
 * ```
 */

import './launch/embedded.js'

export * as futures from './api/futures.js'
export * as shared from './api/shared.js'
export { scoop } from './api/scoop.js'
export { Future } from './runtime/future.js'
export type { MapResult, MapOptions, SubmitOptions, ReturnWhen, WaitResult } from './api/futures.js'
export type { WaitOptions } from './runtime/waiting.js'
export * from './errors.js'
