// `scoop-node --listen|--join ... [-n N]` with no script: N long-lived worker processes that
// serve every run announced on their mesh, one after another or at once. This process only
// supervises them: it starts them, restarts one that dies (a task may have ended it), prints
// the mesh's address, and stops them all on SIGINT/SIGTERM.

import { LocalWorkers, type WorkerConfig } from './local.js'
import { localAddress } from './addresses.js'
import { messageWriter, type LogSettings } from './messages.js'
import { LEAVE_GRACE_MS, RECYCLE_EXIT_CODE, WORKER_RESTART_DELAY_MS, WORKER_RESTARTS_PER_MINUTE } from '../defaults.js'

export interface ServeOptions {
  workers: number
  /** Where the first worker listens (the mesh's address); the others listen on the same host, any port. */
  listen: string[]
  join: string[]
  /** The first worker finds and is found by the mesh's other peers on the local network by mDNS. */
  mdns: boolean
  /** The mesh's swarm key; null: an open mesh (--insecure). */
  swarmKey: Uint8Array | null
  nice?: number
  /** Recycling limits of each worker (see WorkerConfig.recycle). */
  recycle?: WorkerConfig['recycle']
  /** -v: launcher events too. */
  verbose: boolean
  /** Where the supervisor's and the workers' messages go (text on stderr by default). */
  log?: LogSettings
}

/** The listen addresses with the port the first worker got: a restarted first worker comes back where it was. */
const pinPorts = (listen: string[], bound: string[]): string[] => listen.map(addr => {
  const port = /\/tcp\/(\d+)/.exec(bound.find(b => b.startsWith(addr.replace(/\/tcp\/\d+.*/, '/tcp/'))) ?? bound[0] ?? '')?.[1]
  return port !== undefined ? addr.replace(/\/tcp\/0(?=\/|$)/, `/tcp/${port}`) : addr
})

/** The same listen addresses with any port: for the workers besides the first. */
const anyPort = (addr: string): string => addr.replace(/\/(tcp|udp)\/\d+/, '/$1/0')


export async function serveMesh (options: ServeOptions): Promise<void> {
  const report = messageWriter(options.log ?? { format: 'text' })
  const verbose = (line: string): void => { if (options.verbose) report(line) }
  const swarmKey = options.swarmKey != null ? new TextDecoder().decode(options.swarmKey) : undefined
  const configs = new Map<number, WorkerConfig>()
  /** Where each live worker listens: a restarted worker joins through them. */
  const liveAddrs = new Map<number, string[]>()
  const restarts: number[] = []
  let stopping = false
  let firstUp: (addrs: string[], identity: string | undefined) => void = () => {}
  const firstPeer = new Promise<{ addrs: string[], identity: string | undefined }>(resolve => { firstUp = (addrs, identity) => { resolve({ addrs, identity }) } })

  const workers: LocalWorkers = new LocalWorkers({
    nice: options.nice,
    onUp: (pid, addrs, identity) => {
      liveAddrs.set(pid, addrs)
      verbose(`scoop-node: worker ${pid} up on ${addrs.join(', ')}`)
      if (configs.get(pid) === first) firstUp(addrs, identity)
    },
    onUnexpectedExit: (pid, code, signal) => {
      const config = configs.get(pid)
      configs.delete(pid)
      liveAddrs.delete(pid)
      if (stopping || config == null) return
      if (code === RECYCLE_EXIT_CODE) {
        // It left on purpose, without losing work (it said why): a fresh one takes its place now.
        report(`scoop-node: worker ${pid} recycled; starting a fresh one`)
        restart(config)
        return
      }
      const now = Date.now()
      while (restarts.length > 0 && now - restarts[0] > 60_000) restarts.shift()
      const how = signal != null ? `signal ${signal}` : `exit code ${String(code)}`
      if (restarts.length >= WORKER_RESTARTS_PER_MINUTE) {
        report(`scoop-node: worker ${pid} exited (${how}); ${restarts.length} restarts in the last minute, not restarting it`)
        return
      }
      restarts.push(now)
      report(`scoop-node: worker ${pid} exited (${how})${code === 0 ? ', having left the mesh' : '; its tasks go back to their owners'}; restarting it`)
      setTimeout(() => { if (!stopping) restart(config) }, WORKER_RESTART_DELAY_MS)
    }
  })
  const start = (config: WorkerConfig): void => {
    for (const pid of workers.spawn(1, config)) configs.set(pid, config)
  }
  /** A worker that died comes back joined to the live ones, which link it to the rest of the mesh. */
  const restart = (config: WorkerConfig): void => {
    const through = [...liveAddrs.values()].map(localAddress)
    start({ ...config, bootstrap: [...new Set([...config.bootstrap, ...through])] })
  }

  // mDNS announces the listen addresses: loopback would reach no other host.
  const listen = options.listen.length > 0 ? options.listen : (options.mdns ? ['/ip4/0.0.0.0/tcp/0'] : undefined)
  // The first worker keeps its identity (it makes one and reports it) and its port across
  // restarts: the address printed below stays good for --join. (This process stays free of libp2p.)
  const first: WorkerConfig = { bootstrap: options.join, listen, mdns: options.mdns, swarmKey, reportIdentity: true, recycle: options.recycle, log: options.log }
  start(first)
  const { addrs, identity } = await firstPeer
  for (const [pid, config] of configs) {
    if (config === first) configs.set(pid, { ...first, identity, reportIdentity: false, listen: pinPorts(listen ?? ['/ip4/127.0.0.1/tcp/0'], addrs) })
  }
  const rest: WorkerConfig = { bootstrap: [localAddress(addrs)], listen: listen?.map(anyPort), swarmKey, recycle: options.recycle, log: options.log }
  for (let i = 1; i < options.workers; i++) start(rest)

  for (const addr of addrs) process.stdout.write(`scoop-node: listening on ${addr}\n`)
  report(`scoop-node: ${options.workers} long-lived worker(s) up${swarmKey == null ? ' (an open mesh: no swarm key)' : ''}; run a script on them with\n` +
    `  scoop-node ${swarmKey != null ? '--key <the key file> ' : '--insecure '}--join ${addrs.find(a => !a.startsWith('/ip4/127.')) ?? addrs[0]} <script>`)

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stopping = true
      workers.killAll()
      // Each worker leaves without losing work: it hands back what is queued and finishes what runs.
      void workers.exited(LEAVE_GRACE_MS + 5000).then(() => { process.exit(0) })
    })
  }
}
