// The mesh's figures in Prometheus' text exposition format (version 0.0.4), for /metrics.

import type { MeshStatus, PeerStatus } from '../core/wire.js'

/** A label value, escaped as the format requires (backslash, double quote, newline). */
const label = (value: string): string => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')

interface Metric { name: string, help: string, type: 'gauge' | 'counter', value: (p: PeerStatus, view: MeshStatus) => number }

const PER_PEER: Metric[] = [
  { name: 'scoop_tasks_done_total', help: 'Tasks the peer has run since it started.', type: 'counter', value: p => p.done },
  { name: 'scoop_tasks_running', help: 'Tasks the peer\'s executors hold now.', type: 'gauge', value: p => p.running },
  { name: 'scoop_tasks_queued', help: 'Tasks queued on the peer, not started.', type: 'gauge', value: p => p.load },
  { name: 'scoop_tasks_given_total', help: 'Tasks thieves took from the peer.', type: 'counter', value: p => p.given },
  { name: 'scoop_tasks_taken_total', help: 'Tasks the peer stole.', type: 'counter', value: p => p.taken },
  { name: 'scoop_tasks_per_second', help: 'Tasks per second the peer ran between its last two heartbeats.', type: 'gauge', value: p => p.rate },
  { name: 'scoop_peer_cpu_percent', help: 'CPU time of the peer\'s process over the last heartbeat, in % of one core.', type: 'gauge', value: p => p.cpu },
  { name: 'scoop_peer_resident_memory_bytes', help: 'Resident memory of the peer\'s process.', type: 'gauge', value: p => p.rssMb * 1024 * 1024 },
  { name: 'scoop_peer_is_broker', help: '1 for the peer holding the broker role.', type: 'gauge', value: (p, view) => p.id === view.broker ? 1 : 0 }
]

export function prometheusText (view: MeshStatus): string {
  const lines: string[] = [
    '# HELP scoop_peers Live peers in the mesh, as the answering peer sees it.',
    '# TYPE scoop_peers gauge',
    `scoop_peers ${view.peers.length}`,
    '# HELP scoop_broker_epoch The highest broker epoch the answering peer has heard of.',
    '# TYPE scoop_broker_epoch gauge',
    `scoop_broker_epoch ${view.epoch}`,
    '# HELP scoop_runs Runs under way.',
    '# TYPE scoop_runs gauge',
    `scoop_runs ${view.runs.length}`
  ]
  for (const metric of PER_PEER) {
    lines.push(`# HELP ${metric.name} ${metric.help}`, `# TYPE ${metric.name} ${metric.type}`)
    for (const p of view.peers) {
      lines.push(`${metric.name}{peer="${label(p.name)}",peer_id="${label(p.id)}"} ${metric.value(p, view)}`)
    }
  }
  return `${lines.join('\n')}\n`
}
