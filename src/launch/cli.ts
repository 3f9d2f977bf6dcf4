// `scoop-node [options] script [args...]`: starts the origin (this process) and its local
// workers, runs the script's main part, and exits with the script's exit code.
// `scoop-node --listen|--join|--mdns ... [-n N]` (no script): starts long-lived workers for a
// mesh that many runs use. `scoop-node keygen FILE`: a swarm key for such a mesh.
// `scoop-node status|dashboard <multiaddr>`: a live mesh's view, as text or in a browser.

import '../polyfill.js'
import { Command, InvalidArgumentError, Option } from 'commander'
import { MessageChannel } from 'node:worker_threads'
import { availableParallelism } from 'node:os'
import { readFileSync, realpathSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { serveMesh } from './serve.js'
import { messageWriter, relayWriter, type LogFormat, type LogSettings } from './messages.js'
import { readKeyFile, writeKeyFile } from './keys.js'
import { REMOTE_AGENT_ENTRY } from './entries.js'
import { startOriginExecutor } from './executor-threads.js'
import type { Origin } from './origin.js'
import { planHosts } from './hosts.js'
import { splitPlan, type ClusterPlan } from './cluster.js'
import type { RemoteHosts } from './remote.js'
import { PROGRESS_ENV, STDERR_TTY_ENV } from '../runtime/progress.js'
// What loads libp2p (origin, status, dashboard) is imported where it is used: --help, keygen and
// the long-lived workers' supervisor start in a fraction of the time without it.

interface CliOptions {
  workers?: number
  verbose: number
  log?: string
  nice?: number
  debug?: boolean
  originTasks: boolean
  join: string[]
  listen: string[]
  key?: string
  insecure?: boolean
  path?: string
  mdns?: boolean
  maxTasksPerWorker?: number
  maxMemory?: number
  progress?: boolean
  logFormat: LogFormat
  hosts?: string[]
  hostfile?: string
  brokerHostname?: string
  nodeExecutable: string
  env: Array<[string, string]>
  sshExecutable: string
  tunnel?: boolean
  prolog?: string
  requireAll?: boolean
  /** The dashboard's port (a bare --dashboard gets DASHBOARD_PORT: see normalizeLauncherArgs). */
  dashboard?: number
}

/** The dashboard's port unless told otherwise. */
const DASHBOARD_PORT = 8765

const portNumber = (value: string): number => {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is an integer from 0 (any free port) to 65535.')
  return n
}

const positiveInt = (what: string) => (value: string): number => {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${what} must be a positive integer.`)
  return n
}

const niceness = (value: string): number => {
  const n = Number(value)
  if (!Number.isInteger(n) || n < -20 || n > 19) throw new InvalidArgumentError('niceness must be an integer from -20 to 19.')
  return n
}

/** A multiaddr as the user typed it: checked enough to give a clear error before any network use. */
const multiaddrArg = (what: string, needsPeerId: boolean) => (value: string, previous: string[]): string[] => {
  if (!value.startsWith('/')) throw new InvalidArgumentError(`${what} takes a multiaddr such as /ip4/192.0.2.7/tcp/4001${needsPeerId ? '/p2p/12D3Koo...' : ''}, not '${value}'.`)
  if (needsPeerId && !value.includes('/p2p/')) throw new InvalidArgumentError(`${what} needs the peer id at the end of the address (/p2p/...): a long-lived peer prints its full address when it starts.`)
  return [...previous, value]
}

/** `--env NAME=VALUE` or `--env NAME` (this machine's value): checked as the user gives it. */
function envSetting (value: string, previous: Array<[string, string]>): Array<[string, string]> {
  const eq = value.indexOf('=')
  const name = eq < 0 ? value : value.slice(0, eq)
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new InvalidArgumentError(`'${name}' is not an environment variable name.`)
  const setting = eq < 0 ? process.env[name] : value.slice(eq + 1)
  if (setting === undefined) throw new InvalidArgumentError(`${name} is not set here; give its value as --env ${name}=VALUE.`)
  return [...previous, [name, setting]]
}

const isFile = (path: string): boolean => {
  try { return statSync(path).isFile() } catch { return false }
}

/** SCOOP_JOIN: addresses separated by commas or white space. */
const joinFromEnv = (): string[] => (process.env.SCOOP_JOIN ?? '').split(/[\s,]+/).filter(a => a !== '')

function buildProgram (): Command {
  return new Command()
    .name('scoop-node')
    .description('Run a script on a mesh of workers: its futures.map/submit calls run in parallel on every worker.\n' +
      'The script runs as the origin (scoop.isOrigin === true); every worker imports it as a module.\n' +
      'Without a script, --listen/--join start long-lived workers that serve the runs of any origin\n' +
      'that joins their mesh.')
    .usage('[options] [<script> [args...]]\n       scoop-node keygen <file>\n       scoop-node status <multiaddr>\n       scoop-node dashboard <multiaddr>')
    .argument('[script]', 'the script to run (.ts, .mts, .js or .mjs; an ES module)')
    .argument('[args...]', 'arguments passed to the script (process.argv.slice(2) on the origin and on every worker)')
    .addOption(new Option('-n, --workers <N>', 'number of workers on this machine, the origin included (SCOOP\'s rule); default: one per CPU core, or 1 (the origin alone) with --join or --mdns and a script')
      .argParser(positiveInt('-n')))
    .option('-v, --verbose', 'report more: -v launcher events, -vv also scoop-node\'s internal debug log', (_: string, prev: number) => prev + 1, 0)
    .option('--log <file>', 'append launcher and worker messages to this file instead of stderr')
    .addOption(new Option('--log-format <format>', 'text for people, json for machines (one object per line: time, pid, message)').choices(['text', 'json']).default('text'))
    .option('--nice <N>', 'run the worker processes at this niceness (-20..19; raising priority needs root)', niceness)
    .option('--no-origin-tasks', 'the origin runs only the script\'s main part; every task goes to the other workers')
    .addOption(new Option('--join <multiaddr>', 'join the live mesh of this peer (repeatable; also SCOOP_JOIN, comma-separated)')
      .argParser(multiaddrArg('--join', true)).default([]))
    .addOption(new Option('--listen <multiaddr>', 'where this mesh\'s first long-lived worker listens, e.g. /ip4/0.0.0.0/tcp/4001 for a LAN (default: loopback, a random port)')
      .argParser(multiaddrArg('--listen', false)).default([]))
    .option('--mdns', 'find the mesh\'s peers on the local network by mDNS (service _scoop-node._udp.local); long-lived workers then listen on every interface unless --listen says otherwise')
    .addOption(new Option('--key <file>', 'the mesh\'s swarm key file (from scoop-node keygen); also SCOOP_KEY_FILE').env('SCOOP_KEY_FILE'))
    .option('--insecure', 'let a long-lived mesh run without a swarm key: anyone who reaches it can run code on it')
    .option('-p, --path <dir>', 'the directory holding the script on every worker\'s host, and where remote workers start (SCOOP\'s --path; default: the script\'s own path, and this directory)')
    .addOption(new Option('--max-tasks-per-worker <N>', 'long-lived workers: recycle a worker (it leaves without losing work and a fresh one starts) after it has run N task items').argParser(positiveInt('--max-tasks-per-worker')))
    .addOption(new Option('--max-memory <MB>', 'long-lived workers: recycle a worker whose resident memory grows past MB megabytes').argParser(positiveInt('--max-memory')))
    .addOption(new Option('--dashboard [port]', `serve a live dashboard of the run on http://127.0.0.1:PORT/ (default ${DASHBOARD_PORT}; 0: any free port), with Prometheus metrics on /metrics`).argParser(portNumber))
    .option('--progress', 'draw a progress bar on stderr for every futures.map of the script (on a terminal only, and not under NO_COLOR or CI; SCOOP_PROGRESS=force draws it anyway)')
    .addOption(new Option('--hosts <host...>', 'start the run\'s workers on these hosts over ssh (SCOOP\'s --hosts, --host too): a host named k times gets k workers; this machine, if listed, runs its share here with the origin. Default inside Slurm, PBS/Torque, SGE or LSF: the job\'s allocation'))
    .option('--hostfile <file>', 'the hosts from a file: one `host [count]` per line (also worker=N or slots=N; no count: as many as this machine has cores); # comments and blank lines allowed')
    .option('--broker-hostname <name>', 'the name or address remote hosts reach this machine (the origin) by; default: its every address but loopback')
    .option('--node-executable <path>', 'node on the remote hosts (SCOOP\'s --python-executable)', process.execPath)
    .addOption(new Option('--env <NAME[=VALUE]>', 'set this variable for the remote workers (repeatable; NAME alone: its value here). NODE_PATH goes along when set (SCOOP\'s --pythonpath)').argParser(envSetting).default([]))
    .option('--ssh-executable <path>', 'the ssh client that starts remote workers (it runs with BatchMode=yes: keys or an agent, never a prompt)', 'ssh')
    .option('--tunnel', 'remote workers reach the origin through an ssh port forward, for hosts that cannot route to this machine')
    .option('--prolog <file>', 'a shell file each remote host sources before its workers start (modules, environment); its path on those hosts')
    .option('--require-all', 'stop the run when any remote host cannot start its workers (default: say so and go on with the others)')
    .option('--debug', 'set scoop.debug in the script and enable scoop-node\'s debug log (DEBUG=scoop:*)')
    .passThroughOptions()
    .addHelpText('after', `
Examples:
  $ scoop-node -n 4 examples/piCalc.ts          4 workers: the origin and 3 worker processes
  $ scoop-node examples/mapDoc.ts               one worker per CPU core
  $ node examples/mapDoc.mjs                    no launcher: the script starts a local mesh itself

A mesh of long-lived workers, used by many runs:
  $ scoop-node keygen mesh.key                  a swarm key: every peer of the mesh needs it
  $ scoop-node --key mesh.key --listen /ip4/0.0.0.0/tcp/4001 -n 4
                                                prints its address; on other machines:
  $ scoop-node --key mesh.key --join /ip4/192.0.2.7/tcp/4001/p2p/12D3Koo... -n 8
  $ scoop-node --key mesh.key --join /ip4/192.0.2.7/tcp/4001/p2p/12D3Koo... examples/piCalc.ts
                                                a run on that mesh (each worker imports the
                                                script from its own disk: see --path)
  $ scoop-node status --key mesh.key /ip4/192.0.2.7/tcp/4001/p2p/12D3Koo...
                                                its peers, broker, load and tasks/s
  $ scoop-node dashboard --key mesh.key /ip4/192.0.2.7/tcp/4001/p2p/12D3Koo...
                                                the same, live in a browser, and /metrics

A run over several hosts (scoop-node must be at the same path on each, as on a shared disk):
  $ scoop-node --hosts nodeA nodeA nodeB my_sweep.ts
                                                2 workers on nodeA, 1 on nodeB, started over ssh
  $ scoop-node --hostfile hosts -n 6 -vv my_sweep.ts --gens 40
  $ sbatch examples/submitFiles/slurm.sh        inside an allocation, no host list needed

Options after <script> belong to the script. The exit code is the script's.`)
    .showHelpAfterError('(run scoop-node --help for usage)')
    // Every usage error exits 2 (commander's own would exit 1, ours 2): scripts can tell them from a failed run.
    .exitOverride(err => { process.exit(err.exitCode === 0 ? 0 : 2) })
}

async function keygen (argv: string[]): Promise<void> {
  await new Command()
    .name('scoop-node keygen')
    .description('Write a fresh swarm key file (mode 0600) for a long-lived mesh: give it to every peer with --key.')
    .argument('<file>', 'where to write the key')
    .option('--force', 'replace an existing file (peers holding the old key are locked out)')
    .action(async (file: string, opts: { force?: boolean }) => {
      try {
        await writeKeyFile(file, opts)
      } catch (err) {
        process.stderr.write(`scoop-node keygen: ${(err as Error).message}\n`)
        process.exit(2)
      }
      process.stdout.write(`scoop-node: wrote a swarm key to ${file}; keep it private: whoever holds it can join the mesh\n`)
    })
    .parseAsync(argv.slice(1))
}

/** The key for a long-lived mesh: from --key, none with --insecure; an error otherwise. */
function meshKeyOf (opts: { key?: string, insecure?: boolean }, fail: (message: string) => never): Uint8Array | null {
  if (opts.key !== undefined) {
    try { return readKeyFile(opts.key) } catch (err) { return fail((err as Error).message) }
  }
  if (opts.insecure === true) return null
  return fail('a long-lived mesh needs a swarm key, or anyone who reaches it could run code on it.\n' +
    '  Make one with `scoop-node keygen mesh.key`, copy it to every peer and give it with --key mesh.key\n' +
    '  (or SCOOP_KEY_FILE); --insecure runs without one.')
}

async function status (argv: string[]): Promise<void> {
  const command = new Command()
    .name('scoop-node status')
    .description('Print a live mesh\'s view: its peers with address, load and tasks/s, the broker, the epoch, the runs.')
    .argument('<multiaddr>', 'any peer of the mesh (with its /p2p/ id), as its long-lived workers print it')
    .addOption(new Option('--key <file>', 'the mesh\'s swarm key file; also SCOOP_KEY_FILE').env('SCOOP_KEY_FILE'))
    .option('--insecure', 'the mesh has no swarm key')
    .option('--json', 'print the view as JSON')
    .addOption(new Option('--timeout <seconds>', 'give up after this long').argParser(positiveInt('--timeout')).default(10))
    .showHelpAfterError('(run scoop-node status --help for usage)')
    .parse(argv.slice(1))
  const [address] = command.processedArgs as [string]
  const opts = command.opts<{ key?: string, insecure?: boolean, json?: boolean, timeout: number }>()
  const fail = (message: string): never => command.error(`scoop-node status: ${message}`, { exitCode: 2 })
  const key = meshKeyOf(opts, fail)
  const { formatStatus, queryStatus } = await import('./status.js')
  try {
    const view = await queryStatus(address, key ?? undefined, opts.timeout * 1000)
    process.stdout.write(opts.json === true ? `${JSON.stringify(view, null, 2)}\n` : `${formatStatus(view, Date.now())}\n`)
    process.exit(0)
  } catch (err) {
    process.stderr.write(`scoop-node status: ${(err as Error).message}\n`)
    process.exit(1)
  }
}

async function dashboard (argv: string[]): Promise<void> {
  const command = new Command()
    .name('scoop-node dashboard')
    .description('Serve a live dashboard of a running mesh on 127.0.0.1 (peers, broker, load, tasks/s, runs) and Prometheus metrics on /metrics, from the view of one of its peers.')
    .argument('<multiaddr>', 'any peer of the mesh (with its /p2p/ id)')
    .addOption(new Option('--port <port>', 'the port to serve on; 0: any free port').argParser(portNumber).default(DASHBOARD_PORT))
    .option('--host <address>', 'the address to serve on: anything but loopback shows the mesh to the network', '127.0.0.1')
    .addOption(new Option('--key <file>', 'the mesh\'s swarm key file; also SCOOP_KEY_FILE').env('SCOOP_KEY_FILE'))
    .option('--insecure', 'the mesh has no swarm key')
    .showHelpAfterError('(run scoop-node dashboard --help for usage)')
    .parse(argv.slice(1))
  const [address] = command.processedArgs as [string]
  const opts = command.opts<{ port: number, host: string, key?: string, insecure?: boolean }>()
  const fail = (message: string): never => command.error(`scoop-node dashboard: ${message}`, { exitCode: 2 })
  const key = meshKeyOf(opts, fail)
  const [{ StatusClient }, { startDashboard }] = await Promise.all([import('./status.js'), import('../dashboard/server.js')])
  const client = await StatusClient.connect(address, key ?? undefined, 10_000).catch((err: Error) => fail(err.message))
  const served = await startDashboard({ status: async () => await client.status(), onTask: listener => { client.followTasks(listener) } }, opts.port, opts.host).catch((err: Error) => fail(`cannot serve on ${opts.host}:${opts.port}: ${err.message}`))
  process.stdout.write(`scoop-node: dashboard of ${address} on ${served.url} (Ctrl-C to stop)\n`)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => { void Promise.all([served.close(), client.close()]).finally(() => { process.exit(0) }) })
  }
}

/** The run's hosts and this machine's share of them; undefined for a run on this machine alone. */
function clusterPlanOf (opts: CliOptions, fail: (message: string) => never): ClusterPlan | undefined {
  try {
    const plan = planHosts({ hosts: opts.hosts, hostfile: opts.hostfile, workers: opts.workers, workersPerUnknownHost: availableParallelism() },
      process.env, path => readFileSync(path, 'utf8'))
    return plan === undefined ? undefined : splitPlan(plan)
  } catch (err) {
    return fail((err as Error).message)
  }
}

/** How a --hosts entry that is really the script (or past it) looks: a file, or a script's name. */
const looksLikeScript = (arg: string): boolean => arg.includes('/') || /\.[cm]?[jt]s$/.test(arg) || isFile(arg)

/**
 * Rewrites the launcher's own options (those before the script; the rest is the script's) where
 * commander would misread them:
 * - `--hosts a b c script.ts`, as SCOOP users write it: commander's variadic option would swallow
 *   the script. The list ends at the next option or at the script; each host becomes
 *   `--hosts=NAME` (`--host` too: SCOOP accepts both).
 * - `--dashboard script.ts`: commander's optional value would take the script for the port. A
 *   bare `--dashboard` gets the default port.
 */
function normalizeLauncherArgs (program: Command, argv: string[]): string[] {
  const out = argv.slice(0, 2)
  let at = 2
  for (; at < argv.length && argv[at].startsWith('-'); at++) {
    const arg = argv[at]
    if (arg === '--hosts' || arg === '--host') {
      while (at + 1 < argv.length && !argv[at + 1].startsWith('-') && !looksLikeScript(argv[at + 1])) out.push(`--hosts=${argv[++at]}`)
    } else if (arg.startsWith('--host=')) {
      out.push(`--hosts=${arg.slice('--host='.length)}`)
    } else if (arg === '--dashboard' && !/^\d+$/.test(argv[at + 1] ?? '')) {
      out.push(`--dashboard=${DASHBOARD_PORT}`)
    } else {
      out.push(arg)
      // An option that takes a value (`--log file`) is followed by its value, not by the script.
      if (!arg.includes('=') && program.options.some(o => (o.long === arg || o.short === arg) && (o.required || o.optional))) {
        if (at + 1 < argv.length) out.push(argv[++at])
      }
    }
  }
  return [...out, ...argv.slice(at)]
}

export async function main (argv = process.argv): Promise<void> {
  if (argv[2] === 'keygen') { await keygen(argv); return }
  if (argv[2] === 'status') { await status(argv); return }
  if (argv[2] === 'dashboard') { await dashboard(argv); return }
  const program = buildProgram()
  program.parse(normalizeLauncherArgs(program, argv))
  const [script, scriptArgs] = program.processedArgs as [string | undefined, string[]]
  const opts = program.opts<CliOptions>()
  const join = [...opts.join, ...joinFromEnv()]
  const fail = (message: string): never => program.error(`scoop-node: ${message}`, { exitCode: 2 })

  if (opts.debug === true) process.env.SCOOP_DEBUG = '1'
  if (opts.verbose >= 2 || opts.debug === true) {
    const { enable } = await import('@libp2p/logger')
    enable([process.env.DEBUG, 'scoop:*'].filter(Boolean).join(','))
    process.env.DEBUG = [process.env.DEBUG, 'scoop:*'].filter(Boolean).join(',')
  }
  const log: LogSettings = { file: opts.log, format: opts.logFormat }
  const report = messageWriter(log)
  const verbose = (line: string): void => { if (opts.verbose >= 1) report(line) }

  // A mesh that outlives one run needs a key its peers share: none is made up here.
  const meshKey = (): Uint8Array | null => meshKeyOf(opts, fail)

  if (script === undefined) {
    if (opts.hosts !== undefined || opts.hostfile !== undefined) fail('--hosts and --hostfile start the workers of one run: give the script to run (long-lived workers start on each host with --listen or --join)')
    if (join.length === 0 && opts.listen.length === 0 && opts.mdns !== true) fail('missing the script to run (or --listen/--join/--mdns to start long-lived workers)')
    const recycle = opts.maxTasksPerWorker !== undefined || opts.maxMemory !== undefined ? { maxTasks: opts.maxTasksPerWorker, maxMemoryMb: opts.maxMemory } : undefined
    await serveMesh({ workers: opts.workers ?? availableParallelism(), listen: opts.listen, join, mdns: opts.mdns === true, swarmKey: meshKey(), nice: opts.nice, recycle, log, verbose: opts.verbose >= 1 })
    return
  }

  const scriptPath = resolve(script)
  if (!isFile(scriptPath)) fail(`cannot find the script '${script}'`)
  const realScript = realpathSync(scriptPath)
  const moduleUrl = pathToFileURL(realScript).href
  const onMesh = join.length > 0 || opts.mdns === true
  if (onMesh && (opts.hosts !== undefined || opts.hostfile !== undefined)) fail('--hosts and --hostfile start this run\'s workers over ssh, --join and --mdns run it on a live mesh: give one or the other')
  // Hosts from --hosts, --hostfile or the batch allocation this runs in; none: this machine alone.
  const cluster = onMesh ? undefined : clusterPlanOf(opts, fail)
  const remoteSlots = cluster?.remote ?? []
  const workers = cluster?.localWorkers ?? opts.workers ?? (onMesh ? 1 : availableParallelism())
  if (cluster !== undefined) {
    verbose(`scoop-node: hosts from ${cluster.plan.source}: ${cluster.plan.slots.map(s => `${s.host} (${s.workers})`).join(', ')}`)
    if (!cluster.originIsWorker) verbose('scoop-node: this machine is not in the host list: the origin runs only the script\'s main part')
  }
  const originRunsTasks = opts.originTasks && (cluster?.originIsWorker ?? true)
  if (!originRunsTasks && workers < 2 && !onMesh && remoteSlots.length === 0) fail('--no-origin-tasks needs -n 2 or more: someone has to run the tasks')
  // Remote workers dial the origin and this machine's workers: on every interface, unless the
  // hosts come in through ssh forwards (--tunnel), which end on loopback.
  const listen = remoteSlots.length > 0 && opts.tunnel !== true ? ['/ip4/0.0.0.0/tcp/0'] : undefined
  if (opts.listen.length > 0) fail('--listen is for long-lived workers (no script); an origin dials out to its mesh')
  if (opts.maxTasksPerWorker !== undefined || opts.maxMemory !== undefined) fail('--max-tasks-per-worker and --max-memory recycle long-lived workers (no script)')
  // The script's thread cannot see that stderr is a terminal (its stderr is a pipe to this thread): tell it.
  process.env[STDERR_TTY_ENV] = process.stderr.isTTY ? '1' : '0'
  if (opts.progress === true && process.env[PROGRESS_ENV] === undefined) process.env[PROGRESS_ENV] = '1'
  const { port1, port2 } = new MessageChannel()
  const started = Date.now()
  let origin: Origin | undefined
  let remote: RemoteHosts | undefined
  const stopWorkers = (): void => {
    origin?.workers.killAll()
    remote?.stop()
  }
  let failed = false
  const startScript = (): void => {
    const executor = startOriginExecutor({ port: port2, moduleUrl, argv: scriptArgs, runsOwnTasks: originRunsTasks })
    executor.on('error', err => {
      failed = true
      process.stderr.write(`${err instanceof Error ? (err.stack ?? String(err)) : String(err)}\n`)
    })
    executor.on('exit', code => {
      verbose(`scoop-node: the script ended with exit code ${failed ? 1 : code} after ${Date.now() - started} ms; stopping the workers`)
      stopWorkers()
      process.exit(failed && code === 0 ? 1 : code)
    })
  }
  // The script starts at once, while libp2p loads here: its first tasks run on its own thread
  // (see TaskClaims), and the mesh takes over the rest once it is up. Under --require-all it
  // starts only once every remote host is up.
  const scriptWaitsForHosts = opts.requireAll === true && remoteSlots.length > 0
  if (!scriptWaitsForHosts) startScript()
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stopWorkers()
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15))
    })
  }
  // The reader of the output went away (`scoop-node script.js | head`): end as a writer killed
  // by SIGPIPE does, workers included, rather than with an unhandled EPIPE's stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err
    stopWorkers()
    process.exit(128 + 13)
  })
  const { startOrigin } = await import('./origin.js')
  const localProcesses = Math.max(0, workers - 1)
  origin = await startOrigin({
    workers: localProcesses,
    // Without --path every worker is on this host's disk: give it the very file the origin runs.
    script: opts.path !== undefined ? script : realScript,
    workDir: opts.path ?? process.cwd(),
    argv: scriptArgs,
    nice: opts.nice,
    runsTasks: originRunsTasks,
    join,
    mdns: opts.mdns,
    swarmKey: onMesh ? meshKey() : undefined,
    log,
    listen,
    workerListen: listen
  }, port1).catch((err: Error) => fail(err.message))
  verbose(`scoop-node: origin ${origin.host.self.name} listening on ${origin.host.mesh.multiaddrs.join(', ')}; starting ${localProcesses} worker process(es) here (run ${origin.spec.id})`)
  if (remoteSlots.length > 0) {
    const { originAddressesForHosts, startRemoteHosts } = await import('./cluster.js')
    const self = { multiaddrs: origin.host.mesh.multiaddrs, peerId: origin.host.self.id }
    const tunnelPort = Number(/\/tcp\/(\d+)/.exec(self.multiaddrs[0] ?? '')?.[1])
    const bootstrap = opts.tunnel === true ? [] : await originAddressesForHosts(self, opts.brokerHostname).catch((err: Error) => { stopWorkers(); return fail(err.message) })
    const remoteEnv: Array<[string, string]> = [
      ...(process.env.NODE_PATH !== undefined ? [['NODE_PATH', process.env.NODE_PATH] as [string, string]] : []),
      // -vv and --debug reach the remote workers' logs and scoop.debug as they reach local ones.
      ...(process.env.DEBUG !== undefined && (opts.verbose >= 2 || opts.debug === true) ? [['DEBUG', process.env.DEBUG] as [string, string]] : []),
      ...(process.env.SCOOP_DEBUG !== undefined ? [['SCOOP_DEBUG', process.env.SCOOP_DEBUG] as [string, string]] : []),
      ...opts.env
    ]
    const hosts = startRemoteHosts(remoteSlots, {
      ssh: opts.sshExecutable,
      node: opts.nodeExecutable,
      agentEntry: REMOTE_AGENT_ENTRY,
      workDir: origin.spec.workDir,
      prolog: opts.prolog,
      env: remoteEnv,
      nice: opts.nice,
      // Remote workers log to their stderr, which ssh brings here (a --log file is this machine's).
      config: { ...origin.workerConfig, bootstrap, listen: ['/ip4/0.0.0.0/tcp/0'], log: { format: opts.logFormat } },
      tunnel: opts.tunnel === true ? { port: tunnelPort, peerId: self.peerId } : undefined,
      report,
      relay: relayWriter(log),
      verbose,
      requireAll: opts.requireAll === true
    }, originRunsTasks || workers > 1)
    remote = hosts.remote
    verbose(`scoop-node: starting ${remoteSlots.reduce((sum, s) => sum + s.workers, 0)} worker(s) on ${remoteSlots.length} remote host(s) over ssh${opts.tunnel === true ? ', tunnelled' : ''}`)
    // Under --require-all the script starts only once every host is up; otherwise at once, and
    // the remote workers join as they come.
    const runCannotGoOn = (err: Error): never => {
      report(`scoop-node: ${err.message}`)
      stopWorkers()
      process.exit(1)
    }
    if (opts.requireAll === true) await hosts.ready.catch(runCannotGoOn)
    else hosts.ready.catch(runCannotGoOn)
  }
  if (opts.dashboard !== undefined) {
    const port = opts.dashboard
    const { startDashboard } = await import('../dashboard/server.js')
    const host = origin.host
    await startDashboard({ status: async () => host.status(), onTask: listener => { host.listenToTasks(listener) } }, port).then(
      served => { report(`scoop-node: dashboard on ${served.url}`) },
      (err: Error) => { report(`scoop-node: no dashboard: cannot serve on 127.0.0.1:${port} (${err.message}); give another port with --dashboard PORT`) })
  }
  if (scriptWaitsForHosts) startScript()
}
