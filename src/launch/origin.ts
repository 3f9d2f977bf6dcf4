// The origin's host: the peer that starts a run. It listens on loopback, holds the broker role
// first (it is the oldest peer), and spawns the local worker processes that join it.

import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import type { MessagePort } from 'node:worker_threads'
import { PeerHost } from '../runtime/peer-host.js'
import { newSwarmKey } from '../mesh/node.js'
import { LocalWorkers } from './local.js'

export interface OriginOptions {
  /** Worker processes to start besides the origin (SCOOP's -n minus one). */
  workers: number
  moduleUrl: string
  argv: string[]
  nice?: number
  /** False: the origin runs only the main part and leaves every task to the other workers. */
  runsTasks?: boolean
  /** Where launcher messages go (stderr by default). */
  report?: (line: string) => void
}

export interface Origin {
  host: PeerHost
  workers: LocalWorkers
  runId: string
}

export async function startOrigin (options: OriginOptions, executorPort: MessagePort): Promise<Origin> {
  const runId = randomBytes(8).toString('hex')
  const report = options.report ?? ((line: string) => { process.stderr.write(`${line}\n`) })
  // Every run is a private mesh: a fresh key, known only to this process and the workers it starts.
  const swarmKey = newSwarmKey()
  const host = await PeerHost.start({ runId, workerName: `${hostname()}:${process.pid}`, runsTasks: options.runsTasks, swarmKey })
  host.attachExecutor(executorPort)
  const workers = new LocalWorkers({
    nice: options.nice,
    onUnexpectedExit: (pid, code, signal) => {
      report(`scoop-node: worker process ${pid} exited unexpectedly (${signal != null ? `signal ${signal}` : `exit code ${String(code)}`}); its tasks go back to their owners`)
    }
  })
  workers.spawn(options.workers, { runId, bootstrap: host.mesh.multiaddrs[0], moduleUrl: options.moduleUrl, argv: options.argv, swarmKey: new TextDecoder().decode(swarmKey) })
  return { host, workers, runId }
}
