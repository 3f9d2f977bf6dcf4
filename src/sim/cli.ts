#!/usr/bin/env node
// `npm run sim`: runs the discrete-event simulation of a scoop-node mesh (the real sans-IO core
// on virtual peers, virtual time) and prints its report; the same seed prints the same bytes.

import { parseArgs } from 'node:util'
import { defaultOptions, formatReport, runSimulation, type SimOptions } from './scenarios.js'
import { TCP_MIN_RTO_MS } from './network.js'

const HELP = `usage: node dist/src/sim/cli.js [options]

Simulates N scoop-node peers in one process: each runs the real Scheduler and BrokerElection
from src/core; the network, executors and clock are modelled. Experiments: broker election at
start and after the broker is killed (with disconnect detection as PeerHost does it, and with
the heartbeat lease alone), a flat map, and a nested binary tree.

  --peers N             virtual peers (default ${defaultOptions.peers})
  --seed N              seed of every random choice; same seed, same report (default ${defaultOptions.seed})
  --tasks N             items of the flat map (default ${defaultOptions.tasks})
  --task-ms MS          executor time of one map item or tree leaf (default ${defaultOptions.taskMs})
  --task-spread F       item times uniform in task-ms x [1-F, 1+F] (default ${defaultOptions.taskSpread})
  --chunking MODE       adaptive: cut the map as futures.map does; none: one task per item (default ${defaultOptions.chunking})
  --latency-ms MS       one-way network latency (default ${defaultOptions.latencyMs})
  --jitter-ms MS        extra latency, uniform in [0, MS) per message (default ${defaultOptions.jitterMs})
  --loss P              probability a transmission is lost: heartbeats are dropped, task streams
                        (TCP) retransmit after ${TCP_MIN_RTO_MS} ms, doubling (default ${defaultOptions.loss})
  --bandwidth-mbps N    bandwidth of each directed peer link, Mbit/s (default ${defaultOptions.bandwidthMbps})
  --tree-depth N        levels below the root of the nested tree: 2^N leaves (default ${defaultOptions.treeDepth})
  --kill-broker-at-ms T kill the broker at this virtual time in the election experiment (default ${defaultOptions.killBrokerAtMs})
  --detect-ms MS        extra delay before peers notice a dead peer's connections closed; 0 models a
                        killed process (the kernel resets its sockets), ~10000 a lost host (default ${defaultOptions.detectMs})
  --start-spread-ms MS  election peers start uniformly within this window (default ${defaultOptions.startSpreadMs})
  --kill-peer-at-ms T   kill one non-broker peer T ms after the map (and the tree) starts (default: no churn)
  --only LIST           comma-separated experiments among election,map,tree (default: all)
  --max-events N        stop any experiment after this many events (default 50000000)
  --json                print the report as JSON instead of a table
  -h, --help            this help

Wall time goes to stderr, so stdout is identical for identical options.
`

function main (): void {
  const { values } = parseArgs({
    options: {
      peers: { type: 'string' },
      seed: { type: 'string' },
      tasks: { type: 'string' },
      'task-ms': { type: 'string' },
      'task-spread': { type: 'string' },
      chunking: { type: 'string' },
      'latency-ms': { type: 'string' },
      'jitter-ms': { type: 'string' },
      loss: { type: 'string' },
      'bandwidth-mbps': { type: 'string' },
      'tree-depth': { type: 'string' },
      'kill-broker-at-ms': { type: 'string' },
      'detect-ms': { type: 'string' },
      'start-spread-ms': { type: 'string' },
      'kill-peer-at-ms': { type: 'string' },
      only: { type: 'string' },
      'max-events': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    },
    strict: true
  })
  if (values.help === true) {
    process.stdout.write(HELP)
    return
  }
  const number = (name: string, raw: string | undefined, fallback: number, check: (v: number) => boolean, rule: string): number => {
    if (raw === undefined) return fallback
    const v = Number(raw)
    if (raw.trim() === '' || !Number.isFinite(v) || !check(v)) throw new UsageError(`--${name} must be ${rule}, got '${raw}'`)
    return v
  }
  const int = (v: number): boolean => Number.isSafeInteger(v)
  const d = defaultOptions
  const only = values.only === undefined ? undefined : new Set(values.only.split(',').map(s => s.trim()))
  for (const name of only ?? []) if (!['election', 'map', 'tree'].includes(name)) throw new UsageError(`--only: unknown experiment '${name}' (election, map, tree)`)
  const chunking = values.chunking ?? d.chunking
  if (chunking !== 'adaptive' && chunking !== 'none') throw new UsageError(`--chunking must be adaptive or none, got '${chunking}'`)
  const options: SimOptions = {
    peers: number('peers', values.peers, d.peers, v => int(v) && v >= 2 && v <= 5000, 'an integer from 2 to 5000'),
    seed: number('seed', values.seed, d.seed, v => int(v) && v >= 0 && v < 2 ** 32, 'an integer from 0 to 2^32-1'),
    tasks: number('tasks', values.tasks, d.tasks, v => int(v) && v >= 1, 'a positive integer'),
    taskMs: number('task-ms', values['task-ms'], d.taskMs, v => v >= 0, 'a number >= 0'),
    taskSpread: number('task-spread', values['task-spread'], d.taskSpread, v => v >= 0 && v <= 1, 'a number from 0 to 1'),
    latencyMs: number('latency-ms', values['latency-ms'], d.latencyMs, v => v >= 0, 'a number >= 0'),
    jitterMs: number('jitter-ms', values['jitter-ms'], d.jitterMs, v => v >= 0, 'a number >= 0'),
    loss: number('loss', values.loss, d.loss, v => v >= 0 && v < 1, 'a probability in [0, 1)'),
    bandwidthMbps: number('bandwidth-mbps', values['bandwidth-mbps'], d.bandwidthMbps, v => v > 0, 'a number > 0'),
    treeDepth: number('tree-depth', values['tree-depth'], d.treeDepth, v => int(v) && v >= 0 && v <= 20, 'an integer from 0 to 20'),
    killBrokerAtMs: number('kill-broker-at-ms', values['kill-broker-at-ms'], d.killBrokerAtMs, v => v >= 0, 'a number >= 0'),
    detectMs: number('detect-ms', values['detect-ms'], d.detectMs, v => v >= 0, 'a number >= 0'),
    startSpreadMs: number('start-spread-ms', values['start-spread-ms'], d.startSpreadMs, v => v >= 0, 'a number >= 0'),
    chunking,
    killPeerAtMs: values['kill-peer-at-ms'] === undefined ? undefined : number('kill-peer-at-ms', values['kill-peer-at-ms'], 0, v => v >= 0, 'a number >= 0'),
    run: { election: only?.has('election') ?? true, map: only?.has('map') ?? true, tree: only?.has('tree') ?? true },
    maxEvents: values['max-events'] === undefined ? undefined : number('max-events', values['max-events'], 0, v => int(v) && v > 0, 'a positive integer')
  }
  const began = process.hrtime.bigint()
  const report = runSimulation(options)
  process.stdout.write(values.json === true ? JSON.stringify(report, null, 2) + '\n' : formatReport(report))
  process.stderr.write(`wall time ${(Number(process.hrtime.bigint() - began) / 1e9).toFixed(1)} s\n`)
}

class UsageError extends Error {}

try {
  main()
} catch (err) {
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
    process.stderr.write(`scoop-node sim: ${(err as Error).message}\n(see --help)\n`)
    process.exitCode = 2
  } else {
    throw err
  }
}
