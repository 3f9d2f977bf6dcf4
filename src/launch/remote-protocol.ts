// What the launcher and the agent it starts on a remote host (remote-agent.ts) say to each other
// through ssh: the orders as one JSON line on the agent's stdin; events as prefixed JSON lines on
// its stdout. Any other stdout line is a task's own output, passed on as it is.

import type { WorkerConfig } from './local.js'

/** Marks the agent's event lines among its workers' output. */
export const AGENT_LINE_PREFIX = '@scoop-node-agent '

export interface AgentOrders {
  /** Worker processes to start on the host. */
  workers: number
  nice?: number
  config: WorkerConfig
}

export type AgentEvent =
  | { t: 'up', pid: number, addrs: string[] }
  | { t: 'exit', pid: number, code: number | null, signal: string | null }
