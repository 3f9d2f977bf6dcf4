// Entry of a local worker process: a peer with its own libp2p node (main thread) and an
// executor thread for the user's module. It joins its origin once the module is loaded and
// exits when its launcher goes away (the IPC channel closes).

import '../polyfill.js'
import { MessageChannel, Worker } from 'node:worker_threads'
import { hostname } from 'node:os'
import { PeerHost } from '../runtime/peer-host.js'
import type { WorkerConfig } from './local.js'
import { EXECUTOR_THREAD_ENTRY } from './entries.js'

process.on('disconnect', () => { process.exit(0) })
process.on('SIGTERM', () => { process.exit(0) })

process.once('message', (msg: { type: string, config: WorkerConfig }) => {
  if (msg?.type !== 'config') return
  start(msg.config).catch(err => {
    console.error(`scoop-node worker ${hostname()}:${process.pid}: ${(err as Error).stack ?? String(err)}`)
    process.exit(1)
  })
})

async function start (config: WorkerConfig): Promise<void> {
  const workerName = config.workerName !== '' && config.workerName != null ? config.workerName : `${hostname()}:${process.pid}`
  const host = await PeerHost.start({ runId: config.runId, workerName, swarmKey: new TextEncoder().encode(config.swarmKey) })
  const { port1, port2 } = new MessageChannel()
  host.onExecutorReady = () => {
    host.join(config.bootstrap).catch(err => {
      console.error(`scoop-node worker ${workerName}: ${(err as Error).message}`)
      process.exit(1)
    })
  }
  host.attachExecutor(port1)
  const executor = new Worker(EXECUTOR_THREAD_ENTRY, {
    workerData: { port: port2, moduleUrl: config.moduleUrl, isOrigin: false, info: host.info(), argv: config.argv },
    transferList: [port2]
  })
  executor.on('error', err => {
    console.error(`scoop-node worker ${workerName} could not load ${config.moduleUrl}:\n${err.stack ?? String(err)}`)
    process.exit(1)
  })
  executor.on('exit', code => { process.exit(code) })
}
