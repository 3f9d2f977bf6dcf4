// A run over several hosts (`--hosts`, `--hostfile`, or a batch allocation): which workers start
// on this machine and which over ssh, where the origin listens so that remote workers reach it,
// and the remote start itself with its error path (`--require-all`).

import { lookup } from 'node:dns/promises'
import { hostname, networkInterfaces } from 'node:os'
import { isThisMachine, type HostPlan, type WorkerSlot } from './hosts.js'
import { isLoopbackAddress } from './addresses.js'
import { RemoteHosts, type RemoteStartOptions } from './remote.js'

export interface ClusterPlan {
  plan: HostPlan
  /** Workers on this machine, the origin included when it is in the host list. */
  localWorkers: number
  /** Whether this machine is in the host list: the origin is then one of its workers. */
  originIsWorker: boolean
  remote: WorkerSlot[]
}

/** This machine's names, for isThisMachine. */
export function thisMachine (): { hostname: string, addresses: string[] } {
  return { hostname: hostname(), addresses: Object.values(networkInterfaces()).flatMap(list => (list ?? []).map(i => i.address)) }
}

/** Splits a host plan into this machine's share and the remote hosts, in the plan's order. */
export function splitPlan (plan: HostPlan, machine = thisMachine()): ClusterPlan {
  let localWorkers = 0
  const remote: WorkerSlot[] = []
  for (const slot of plan.slots) {
    if (isThisMachine(slot.host, machine)) localWorkers += slot.workers
    else remote.push(slot)
  }
  return { plan, localWorkers, originIsWorker: localWorkers > 0, remote }
}

/**
 * The addresses remote workers dial to reach the origin: those of `--broker-hostname` (resolved
 * here, so that every host dials the same address), else every non-loopback address the origin
 * listens on. Throws when there is none.
 */
export async function originAddressesForHosts (origin: { multiaddrs: string[], peerId: string }, brokerHostname: string | undefined): Promise<string[]> {
  const port = /\/tcp\/(\d+)/.exec(origin.multiaddrs[0] ?? '')?.[1]
  if (brokerHostname !== undefined) {
    let resolved: Array<{ address: string, family: number }>
    try {
      resolved = await lookup(brokerHostname, { all: true })
    } catch (err) {
      throw new Error(`--broker-hostname ${brokerHostname}: cannot resolve it: ${(err as Error).message}`)
    }
    return resolved.map(({ address, family }) => `/${family === 6 ? 'ip6' : 'ip4'}/${address}/tcp/${port ?? 0}/p2p/${origin.peerId}`)
  }
  const reachable = origin.multiaddrs.filter(a => !isLoopbackAddress(a))
  if (reachable.length === 0) {
    throw new Error('this machine has no network address but loopback, so remote workers cannot reach the origin: give --broker-hostname, or --tunnel')
  }
  return reachable.map(a => a.includes('/p2p/') ? a : `${a}/p2p/${origin.peerId}`)
}

export interface RemoteRunOptions extends Omit<RemoteStartOptions, 'config' | 'tunnel'> {
  config: RemoteStartOptions['config']
  tunnel?: RemoteStartOptions['tunnel']
  requireAll: boolean
}

/**
 * Starts the remote hosts' workers, all at once. `ready` resolves once every host is up or has
 * failed, each failure reported with the host's name and ssh's own words; it rejects when the run
 * cannot go on: a failed host under --require-all, or no worker at all to run the tasks.
 */
export function startRemoteHosts (slots: WorkerSlot[], options: RemoteRunOptions, hasOtherWorkers: boolean): { remote: RemoteHosts, ready: Promise<void> } {
  const remote = new RemoteHosts(options)
  const ready = remote.start(slots).then(outcomes => {
    const failed = outcomes.filter(o => o.error !== undefined)
    for (const { host, workers, error } of failed) {
      options.report(`scoop-node: host ${host}: could not start its ${workers} worker(s): ${error ?? ''}`)
    }
    const started = outcomes.length - failed.length
    if (failed.length > 0 && (options.requireAll || (started === 0 && !hasOtherWorkers))) {
      remote.stop()
      throw new Error(options.requireAll
        ? `${failed.length} of ${outcomes.length} remote host(s) did not start, and --require-all asks for every one`
        : 'no remote host started, and no other worker can run the tasks')
    }
    if (failed.length > 0) options.report(`scoop-node: the run goes on with ${started} of ${outcomes.length} remote host(s) (--require-all would stop it)`)
  })
  return { remote, ready }
}
