// `scoop-node [options] script [args...]`: starts the origin (this process) and its local
// workers, runs the script's main part, and exits with the script's exit code.

import '../polyfill.js'
import { Command, InvalidArgumentError, Option } from 'commander'
import { MessageChannel, Worker } from 'node:worker_threads'
import { availableParallelism } from 'node:os'
import { appendFileSync, existsSync, realpathSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { startOrigin } from './origin.js'
import { EXECUTOR_THREAD_ENTRY } from './entries.js'

interface CliOptions {
  workers: number
  verbose: number
  log?: string
  nice?: number
  debug?: boolean
  originTasks: boolean
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

function buildProgram (): Command {
  return new Command()
    .name('scoop-node')
    .description('Run a script on a mesh of workers: its futures.map/submit calls run in parallel on every worker.\n' +
      'The script runs as the origin (scoop.isOrigin === true); every worker imports it as a module.')
    .usage('[options] <script> [args...]')
    .argument('<script>', 'the script to run (.ts, .mts, .js or .mjs; an ES module)')
    .argument('[args...]', 'arguments passed to the script (process.argv.slice(2) on the origin and on every worker)')
    .addOption(new Option('-n, --workers <N>', 'total number of workers, the origin included (SCOOP\'s rule)')
      .argParser(positiveInt('-n')).default(availableParallelism(), 'the number of CPU cores'))
    .option('-v, --verbose', 'report more: -v launcher events, -vv also scoop-node\'s internal debug log', (_: string, prev: number) => prev + 1, 0)
    .option('--log <file>', 'append launcher messages to this file instead of stderr')
    .option('--nice <N>', 'run the worker processes at this niceness (-20..19; raising priority needs root)', niceness)
    .option('--no-origin-tasks', 'the origin runs only the script\'s main part; every task goes to the other workers (needs -n 2 or more)')
    .option('--debug', 'set scoop.debug in the script and enable scoop-node\'s debug log (DEBUG=scoop:*)')
    .passThroughOptions()
    .addHelpText('after', `
Examples:
  $ scoop-node -n 4 examples/piCalc.ts          4 workers: the origin and 3 worker processes
  $ scoop-node examples/mapDoc.ts               one worker per CPU core
  $ node examples/mapDoc.mjs                    no launcher: the script starts a local mesh itself

Options after <script> belong to the script. The exit code is the script's.`)
    .showHelpAfterError('(run scoop-node --help for usage)')
}

export async function main (argv = process.argv): Promise<void> {
  const program = buildProgram()
  program.parse(argv)
  const [script, scriptArgs] = program.processedArgs as [string, string[]]
  const opts = program.opts<CliOptions>()

  const scriptPath = resolve(script)
  if (!existsSync(scriptPath) || !statSync(scriptPath).isFile()) {
    program.error(`scoop-node: cannot find the script '${script}'`, { exitCode: 2 })
  }
  if (opts.debug === true) process.env.SCOOP_DEBUG = '1'
  if (opts.verbose >= 2 || opts.debug === true) {
    const { enable } = await import('@libp2p/logger')
    enable([process.env.DEBUG, 'scoop:*'].filter(Boolean).join(','))
    process.env.DEBUG = [process.env.DEBUG, 'scoop:*'].filter(Boolean).join(',')
  }
  const report = (line: string): void => {
    if (opts.log !== undefined) appendFileSync(opts.log, `${new Date().toISOString()} ${line}\n`)
    else process.stderr.write(`${line}\n`)
  }
  const verbose = (line: string): void => { if (opts.verbose >= 1) report(line) }

  const moduleUrl = pathToFileURL(realpathSync(scriptPath)).href
  const workers = opts.workers
  if (!opts.originTasks && workers < 2) program.error('scoop-node: --no-origin-tasks needs -n 2 or more: someone has to run the tasks', { exitCode: 2 })
  const { port1, port2 } = new MessageChannel()
  const started = Date.now()
  const origin = await startOrigin({ workers: workers - 1, moduleUrl, argv: scriptArgs, nice: opts.nice, runsTasks: opts.originTasks, report }, port1)
  verbose(`scoop-node: origin ${origin.host.self.name} listening on ${origin.host.mesh.multiaddrs.join(', ')}; starting ${workers - 1} worker process(es) (run ${origin.runId})`)

  const executor = new Worker(EXECUTOR_THREAD_ENTRY, {
    workerData: { port: port2, moduleUrl, isOrigin: true, info: origin.host.info(), argv: scriptArgs },
    transferList: [port2]
  })
  let failed = false
  executor.on('error', err => {
    failed = true
    process.stderr.write(`${err instanceof Error ? (err.stack ?? String(err)) : String(err)}\n`)
  })
  executor.on('exit', code => {
    verbose(`scoop-node: the script ended with exit code ${failed ? 1 : code} after ${Date.now() - started} ms; stopping the workers`)
    origin.workers.killAll()
    process.exit(failed && code === 0 ? 1 : code)
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      origin.workers.killAll()
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15))
    })
  }
}
