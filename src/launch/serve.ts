// `scoop-node --listen|--join ... [-n N]` with no script: N long-lived worker processes that
// serve every run announced on their mesh, one after another or at once. This process only
// supervises them: it starts them, restarts one that dies (a task may have ended it), prints
// the mesh's address, and stops them all on SIGINT/SIGTERM.

import { LocalWorkers, type WorkerConfig } from './local.js'
import { LEAVE_GRACE_MS, WORKER_RESTART_DELAY_MS, WORKER_RESTARTS_PER_MINUTE } from '../defaults.js'

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
  report: (line: string) => void
  verbose: (line: string) => void
}

/** The same listen addresses with any port: for the workers besides the first. */
const anyPort = (addr: string): string => addr.replace(/\/(tcp|udp)\/\d+/, '/$1/0')

/** Of a peer's addresses, the one its neighbours on this host reach it by best: loopback. */
const localAddress = (addrs: string[]): string => addrs.find(a => a.startsWith('/ip4/127.')) ?? addrs[0]

export async function serveMesh (options: ServeOptions): Promise<void> {
  const swarmKey = options.swarmKey != null ? new TextDecoder().decode(options.swarmKey) : undefined
  const configs = new Map<number, WorkerConfig>()
  const restarts: number[] = []
  let stopping = false
  let firstUp: (addrs: string[]) => void = () => {}
  const firstAddrs = new Promise<string[]>(resolve => { firstUp = resolve })

  const workers: LocalWorkers = new LocalWorkers({
    nice: options.nice,
    onUp: (pid, addrs) => {
      options.verbose(`scoop-node: worker ${pid} up on ${addrs.join(', ')}`)
      if (configs.get(pid) === first) firstUp(addrs)
    },
    onUnexpectedExit: (pid, code, signal) => {
      const config = configs.get(pid)
      configs.delete(pid)
      if (stopping || config == null) return
      const now = Date.now()
      while (restarts.length > 0 && now - restarts[0] > 60_000) restarts.shift()
      const how = signal != null ? `signal ${signal}` : `exit code ${String(code)}`
      if (restarts.length >= WORKER_RESTARTS_PER_MINUTE) {
        options.report(`scoop-node: worker ${pid} exited (${how}); ${restarts.length} restarts in the last minute, not restarting it`)
        return
      }
      restarts.push(now)
      options.report(`scoop-node: worker ${pid} exited (${how})${code === 0 ? ', having left the mesh' : '; its tasks go back to their owners'}; restarting it`)
      setTimeout(() => { if (!stopping) start(config) }, WORKER_RESTART_DELAY_MS)
    }
  })
  const start = (config: WorkerConfig): void => {
    for (const pid of workers.spawn(1, config)) configs.set(pid, config)
  }

  // mDNS announces the listen addresses: loopback would reach no other host.
  const listen = options.listen.length > 0 ? options.listen : (options.mdns ? ['/ip4/0.0.0.0/tcp/0'] : undefined)
  const first: WorkerConfig = { bootstrap: options.join, listen, mdns: options.mdns, swarmKey }
  start(first)
  const addrs = await firstAddrs
  const rest: WorkerConfig = { bootstrap: [localAddress(addrs)], listen: listen?.map(anyPort), swarmKey }
  for (let i = 1; i < options.workers; i++) start(rest)

  for (const addr of addrs) process.stdout.write(`scoop-node: listening on ${addr}\n`)
  options.report(`scoop-node: ${options.workers} long-lived worker(s) up${swarmKey == null ? ' (an open mesh: no swarm key)' : ''}; run a script on them with\n` +
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
