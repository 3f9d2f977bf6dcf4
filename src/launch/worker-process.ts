// Entry of a worker process: a peer with its own libp2p node (main thread) and one executor
// thread per run it takes part in. A worker started for one run (the local launcher's) loads
// that run's module while it joins; a long-lived one (`scoop-node --join`) learns runs from
// the mesh. Either way it exits when its launcher goes away (the IPC channel closes).

import '../polyfill.js'
import { PeerHost } from '../runtime/peer-host.js'
import { newPeerIdentity } from '../mesh/node.js'
import type { WorkerConfig, WorkerReport } from './local.js'
import { LEAVE_GRACE_MS, RECYCLE_CHECK_MS, RECYCLE_EXIT_CODE, RUN_WORKER_JOIN_WITHIN_MS } from '../defaults.js'
import { startWorkerExecutor } from './executor-threads.js'
import { messageWriter } from './messages.js'
import { processWorkerName } from '../runtime/thread-messages.js'

process.on('disconnect', () => { process.exit(0) })
/** How long a worker whose start failed waits for news that its launcher is gone before it reports the failure. */
const LAUNCHER_GONE_GRACE_MS = 200
/** Set once the peer is up: SIGTERM then leaves the mesh without losing work. */
let leaveMesh: (() => void) | undefined
process.on('SIGTERM', () => {
  // A second SIGTERM (or one before the peer is up) ends the process at once.
  const leave = leaveMesh
  leaveMesh = undefined
  if (leave == null) process.exit(0)
  leave()
})

process.once('message', (msg: { type: string, config: WorkerConfig }) => {
  if (msg?.type !== 'config') return
  start(msg.config).catch(err => {
    // A launcher that ends while this worker still joins closes its listener first: the join
    // fails here just before the channel's 'disconnect' (or SIGTERM) is seen. Give those a
    // moment to end the process quietly; only a failure with the launcher still there is news.
    setTimeout(() => {
      messageWriter(msg.config.log ?? { format: 'text' })(`scoop-node worker ${processWorkerName()}: ${(err as Error).message}`)
      process.exit(1)
    }, LAUNCHER_GONE_GRACE_MS)
  })
})

async function start (config: WorkerConfig): Promise<void> {
  const workerName = processWorkerName()
  const write = messageWriter(config.log ?? { format: 'text' })
  const say = (message: string): void => { write(`scoop-node worker ${workerName}: ${message}`) }
  const identity = config.identity != null
    ? Buffer.from(config.identity, 'base64')
    : (config.reportIdentity === true ? await newPeerIdentity() : undefined)
  const host = await PeerHost.start({
    workerName,
    listen: config.listen,
    mdns: config.mdns,
    identity,
    onWarning: say,
    // A worker started for one run (by a launcher, here or over ssh) has nothing left to do
    // once its origin is gone, even if its launcher's channel is still open.
    onRunEnded: id => { if (config.run?.id === id) process.exit(0) },
    swarmKey: config.swarmKey != null ? new TextEncoder().encode(config.swarmKey) : undefined,
    startExecutor: (spec, info, failed) => startWorkerExecutor(spec, info, {
      failed,
      // A task ended its executor (process.exit or out of memory in a task, say): the whole
      // worker goes, so that the owners of its tasks see it leave and run them elsewhere.
      crashed: (code, reason) => {
        say(`the executor of run ${spec.id} ${reason}; this worker exits`)
        process.exit(code === 0 ? 1 : code)
      }
    }, { maxHeapMb: config.recycle?.maxMemoryMb })
  })
  leaveMesh = () => {
    host.leave(LEAVE_GRACE_MS).then(({ handedBack, unfinished }) => {
      if (config.run == null || handedBack > 0 || unfinished > 0) {
        say(`left the mesh; ${handedBack} queued task(s) handed back to their owners` +
          (unfinished > 0 ? `; tasks of ${unfinished} run(s) still running after ${LEAVE_GRACE_MS / 1000} s go back to their owners` : ', every running task finished'))
      }
      process.exit(0)
    }, (err: Error) => {
      say(err.message)
      process.exit(1)
    })
  }
  if (config.recycle != null) watchRecycleLimits(host, config.recycle, say)
  process.send?.({ type: 'up', addrs: host.mesh.multiaddrs, ...(config.reportIdentity === true && identity != null ? { identity: Buffer.from(identity).toString('base64') } : {}) } satisfies WorkerReport)
  if (config.run != null) {
    // Load the run's module while joining: the worker takes part as soon as both are done.
    host.learnRun(config.run)
    await host.joinAny(config.bootstrap, RUN_WORKER_JOIN_WITHIN_MS)
  } else {
    // A long-lived worker outlives an unreachable or restarted peer: it says so and keeps trying.
    for (const addr of config.bootstrap) host.keepLinked(addr)
  }
}

/**
 * Leaves (without losing work, as on SIGTERM) and exits with RECYCLE_EXIT_CODE once the worker
 * has run its share of task items or grown past its memory limit; its supervisor starts a fresh one.
 */
function watchRecycleLimits (host: PeerHost, limits: NonNullable<WorkerConfig['recycle']>, say: (message: string) => void): void {
  const timer = setInterval(() => {
    const items = host.itemsDone
    const rssMb = process.memoryUsage().rss / (1024 * 1024)
    const reason = limits.maxTasks !== undefined && items >= limits.maxTasks
      ? `after ${items} task item(s) (--max-tasks-per-worker ${limits.maxTasks})`
      : (limits.maxMemoryMb !== undefined && rssMb > limits.maxMemoryMb ? `at ${Math.round(rssMb)} MB RSS (--max-memory ${limits.maxMemoryMb})` : undefined)
    if (reason === undefined) return
    clearInterval(timer)
    leaveMesh = undefined
    say(`recycled ${reason}: leaving for a fresh worker`)
    host.leave(LEAVE_GRACE_MS).finally(() => { process.exit(RECYCLE_EXIT_CODE) })
  }, RECYCLE_CHECK_MS)
}
