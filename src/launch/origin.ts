// The origin's host: the peer that starts a run. On its own (the local launcher, the embedded
// default) it listens on loopback, holds the broker role (it is the oldest peer) and spawns the
// local worker processes that join it. With `join`, it joins a live mesh whose long-lived
// workers learn the run from it.

import { randomBytes } from 'node:crypto'
import type { MessagePort } from 'node:worker_threads'
import { PeerHost } from '../runtime/peer-host.js'
import type { RunSpec } from '../core/wire.js'
import type { RunSpace } from '../runtime/run-space.js'
import { newSwarmKey } from '../mesh/node.js'
import { LocalWorkers, type WorkerConfig } from './local.js'
import { localAddress } from './addresses.js'
import { messageWriter, type LogSettings } from './messages.js'
import { processWorkerName } from '../runtime/thread-messages.js'
import { ORIGIN_JOIN_WITHIN_MS } from '../defaults.js'

export interface OriginOptions {
  /** Worker processes to start besides the origin (SCOOP's -n minus one). */
  workers: number
  /** The script, as workers find it: absolute, or relative to `workDir`. */
  script: string
  /** Directory a relative script is resolved against on every host (SCOOP's --path). */
  workDir: string
  argv: string[]
  nice?: number
  /** False: the origin runs only the main part and leaves every task to the other workers. */
  runsTasks?: boolean
  /** Multiaddrs of a live mesh to run on. */
  join?: string[]
  /** Find a live mesh to run on by mDNS. */
  mdns?: boolean
  /** The mesh's swarm key; null: an open mesh (--insecure); absent: a fresh key, a private mesh for this run alone. */
  swarmKey?: Uint8Array | null
  /** Where launcher and worker messages go (text on stderr by default). */
  log?: LogSettings
  /** Where the origin listens (loopback by default; every interface when remote hosts take part). */
  listen?: string[]
  /** Where its local worker processes listen (loopback by default). */
  workerListen?: string[]
}

export interface Origin {
  host: PeerHost
  workers: LocalWorkers
  spec: RunSpec
  run: RunSpace
  /** What the run's local workers were started with: remote ones get the same, bootstrap aside. */
  workerConfig: WorkerConfig
}

export async function startOrigin (options: OriginOptions, executorPort: MessagePort): Promise<Origin> {
  const report = messageWriter(options.log ?? { format: 'text' })
  // Unless told to join a keyed mesh, every run is a private mesh: a fresh key, known only to
  // this process and the workers it starts.
  const swarmKey = options.swarmKey === undefined ? newSwarmKey() : (options.swarmKey ?? undefined)
  const host = await PeerHost.start({
    workerName: processWorkerName(),
    listen: options.listen,
    swarmKey,
    mdns: options.mdns,
    onWarning: message => { report(`scoop-node: ${message}`) },
    onRunRefused: (_spec, peer, error) => { report(`scoop-node: worker ${peer} does not take part in this run: ${error}`) }
  })
  if (options.join != null && options.join.length > 0) {
    await host.joinAny(options.join, ORIGIN_JOIN_WITHIN_MS).catch(async (err: Error) => {
      await host.stop()
      throw err
    })
    // Back to the mesh whenever the link to a --join peer drops (a long-lived worker restarted).
    for (const addr of options.join) host.keepLinked(addr)
  }
  const spec: RunSpec = { id: randomBytes(8).toString('hex'), origin: host.self.id, script: options.script, workDir: options.workDir, argv: options.argv }
  // The executor thread belongs to the launcher, which ends the process with it.
  const run = host.startRun(spec, { port: executorPort, terminate: () => {} }, options.runsTasks)
  const workers = new LocalWorkers({
    nice: options.nice,
    onUnexpectedExit: (pid, code, signal) => {
      report(`scoop-node: worker process ${pid} exited unexpectedly (${signal != null ? `signal ${signal}` : `exit code ${String(code)}`}); its tasks go back to their owners`)
    }
  })
  const workerConfig: WorkerConfig = { bootstrap: [localAddress(host.mesh.multiaddrs)], run: spec, log: options.log, swarmKey: swarmKey != null ? new TextDecoder().decode(swarmKey) : undefined }
  workers.spawn(options.workers, { ...workerConfig, listen: options.workerListen })
  return { host, workers, spec, run, workerConfig }
}
