// Entry of the process that `scoop-node --hosts ...` starts on each remote host over one ssh
// connection. It reads its orders as one JSON line on stdin (never on the command line: they hold
// the run's swarm key), starts that many worker processes, and tells the launcher about them on
// stdout. It ends its workers and exits when stdin closes: the launcher ended, was killed, or the
// ssh link dropped. It exits, too, once its workers have all ended (their run is over).
// No libp2p here: the workers hold the peers.

import { createInterface } from 'node:readline'
import { hostname } from 'node:os'
import { LocalWorkers, type WorkerConfig } from './local.js'
import { AGENT_LINE_PREFIX, type AgentEvent, type AgentOrders } from './remote-protocol.js'

/** How long the workers get to leave when the launcher goes away, before the agent exits anyway. */
const WORKERS_EXIT_GRACE_MS = 5000

const tell = (event: AgentEvent): void => { process.stdout.write(`${AGENT_LINE_PREFIX}${JSON.stringify(event)}\n`) }
const say = (message: string): void => { process.stderr.write(`scoop-node agent on ${hostname()}: ${message}\n`) }

let workers: LocalWorkers | undefined
let running = 0

async function stop (code: number): Promise<never> {
  if (workers !== undefined) {
    workers.killAll()
    await workers.exited(WORKERS_EXIT_GRACE_MS)
  }
  process.exit(code)
}

function start (orders: AgentOrders): void {
  workers = new LocalWorkers({
    nice: orders.nice,
    onUp: (pid, addrs) => { tell({ t: 'up', pid, addrs }) },
    onUnexpectedExit: (pid, code, signal) => {
      tell({ t: 'exit', pid, code, signal })
      if (--running === 0) process.exit(0)
    }
  })
  const config: WorkerConfig = orders.config
  running = workers.spawn(orders.workers, config).length
}

const lines = createInterface({ input: process.stdin })
lines.once('line', line => {
  let orders: AgentOrders
  try {
    orders = JSON.parse(line)
    if (!Number.isSafeInteger(orders.workers) || orders.workers < 1 || typeof orders.config !== 'object') throw new TypeError('not the orders of a scoop-node launcher')
  } catch (err) {
    say(`unreadable orders on stdin: ${(err as Error).message}`)
    process.exit(2)
  }
  start(orders)
})
// The launcher's end, whatever its cause, closes our stdin (through ssh).
lines.on('close', () => { void stop(0) })
// Our stdout is the ssh channel too: once it is broken the launcher is gone.
process.stdout.on('error', () => { void stop(0) })
process.on('SIGTERM', () => { void stop(0) })
process.on('SIGHUP', () => { void stop(0) })
