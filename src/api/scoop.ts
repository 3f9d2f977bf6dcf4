// `scoop`: what this process is in the run (SCOOP's scoop.IS_ORIGIN, scoop.worker, ...).

import { hostname } from 'node:os'
import { threadContext } from '../runtime/context.js'
import { processWorkerName } from '../runtime/thread-messages.js'

const info = (): import('../runtime/thread-messages.js').RuntimeInfo | undefined => threadContext().runtime?.info

export const scoop = {
  /** True in the process that runs the script's main part; false on workers, which only import the module. */
  get isOrigin (): boolean {
    const ctx = threadContext()
    return ctx.role === 'origin' && !ctx.importingExports
  },
  /** This worker's name, `host:pid`, as it appears in errors and status. */
  get workerName (): string { return info()?.workerName ?? processWorkerName() },
  /** This worker as SCOOP's (host, id) pair. */
  get worker (): { host: string, pid: number } { return { host: hostname(), pid: process.pid } },
  /** Live peers in the mesh, this one included (1 before the mesh starts). */
  get size (): number { return info()?.size ?? 1 },
  /** Name of the peer holding the broker role. */
  get brokerName (): string { return info()?.brokerName ?? '' },
  /** A multiaddr of the peer holding the broker role. */
  get brokerAddress (): string { return info()?.brokerAddress ?? '' },
  /** This peer's libp2p id. */
  get peerId (): string { return info()?.peerId ?? '' },
  /** Addresses this peer listens on. */
  get multiaddrs (): string[] { return info()?.multiaddrs ?? [] },
  /** True when started with --debug (or SCOOP_DEBUG=1). */
  get debug (): boolean { return process.env.SCOOP_DEBUG === '1' }
}
