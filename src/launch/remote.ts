// The launcher's side of remote hosts: one ssh connection per host (BatchMode: never a prompt)
// runs the agent (remote-agent.ts) there, which starts the host's workers. The connection is
// also their lifeline: closing it (the run ended, the launcher was killed, the link dropped)
// ends the agent and its workers, so no process outlives the run on any host.

import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { Readable, Writable } from 'node:stream'
import type { WorkerConfig } from './local.js'
import type { WorkerSlot } from './hosts.js'
import { AGENT_LINE_PREFIX, type AgentEvent, type AgentOrders } from './remote-protocol.js'
import { REMOTE_START_TIMEOUT_MS, SSH_CONNECT_TIMEOUT_S } from '../defaults.js'

export interface RemoteStartOptions {
  /** The ssh client to run (SCOOP's --ssh-executable). */
  ssh: string
  /** Node on the remote hosts (SCOOP's --python-executable). */
  node: string
  /** The agent's entry: scoop-node is installed at the same path on every host. */
  agentEntry: string
  /** The agent starts in this directory (SCOOP's --path). */
  workDir: string
  /** A shell file sourced before the agent starts (SCOOP's --prolog). */
  prolog?: string
  /** Environment set for the agent and its workers (--env, NODE_PATH). */
  env: Array<[string, string]>
  nice?: number
  /** What every remote worker is started with (its bootstrap is the origin's reachable addresses). */
  config: WorkerConfig
  /** --tunnel: the workers reach the origin through an ssh remote forward to this local port. */
  tunnel?: { port: number, peerId: string }
  /** A message for the user (launcher events, a host's errors). */
  report: (line: string) => void
  /** A line the agent or a worker on `host` wrote to its stderr. */
  relay: (host: string, line: string) => void
  /** A message for -v. */
  verbose: (line: string) => void
}

/** How a host's start went. */
export type HostOutcome = { host: string, workers: number, error?: undefined } | { host: string, workers: number, error: string }

/** Single quotes for sh: the only character to escape inside them is the quote itself. */
export const shellQuote = (text: string): string => `'${text.replace(/'/g, "'\\''")}'`

/** The ssh options of every connection: no prompt, bounded connect, a dead link noticed in ~15 s. */
const SSH_OPTIONS = [
  '-T', '-x',
  '-o', 'BatchMode=yes',
  '-o', `ConnectTimeout=${SSH_CONNECT_TIMEOUT_S}`,
  '-o', 'ServerAliveInterval=5',
  '-o', 'ServerAliveCountMax=3'
]

/** ssh prints this once it holds a remote forward to a port it chose (`-R 0:...`). */
const ALLOCATED_PORT = /^Allocated port (\d+) for remote forward/

/** How the agent's and the workers' messages start (a JSON log line holds the same text). */
const FROM_AGENT_OR_WORKER = /scoop-node (worker|agent) /

/** Lines of a host's stderr kept for the error message when its start fails. */
const STDERR_LINES_KEPT = 8

/**
 * The command ssh runs on the host, as one string for the remote login shell: sh (whatever that
 * shell is) enters the work directory, sources the prolog, checks that scoop-node is there, and
 * becomes the agent. Each failure says which step failed, on which host.
 */
export function remoteCommand (options: Pick<RemoteStartOptions, 'node' | 'agentEntry' | 'workDir' | 'prolog' | 'env'>): string {
  const steps = [
    `cd ${shellQuote(options.workDir)} || { echo "scoop-node: no directory ${options.workDir.replace(/["$`\\]/g, '\\$&')} on $(hostname) (see --path)" >&2; exit 126; }`,
    ...(options.prolog !== undefined
      ? [`. ${shellQuote(options.prolog)} || { echo "scoop-node: the prolog failed on $(hostname)" >&2; exit 126; }`]
      : []),
    `test -f ${shellQuote(options.agentEntry)} || { echo "scoop-node: not installed on $(hostname) at the path it has here" >&2; exit 127; }`,
    `exec env ${options.env.map(([name, value]) => `${name}=${shellQuote(value)}`).join(' ')} ${shellQuote(options.node)} ${shellQuote(options.agentEntry)}`
  ]
  return `/bin/sh -c ${shellQuote(steps.join('\n'))}`
}

interface RemoteHost {
  slot: WorkerSlot
  ssh: ChildProcessByStdio<Writable, Readable, Readable>
  up: number
  state: 'starting' | 'up' | 'ended'
  stderr: string[]
}

export class RemoteHosts {
  private readonly hosts: RemoteHost[] = []
  private stopping = false

  constructor (private readonly options: RemoteStartOptions) {
    // A last resort when the launcher exits without stop(): our ssh clients go with it.
    process.once('exit', () => { this.stop() })
  }

  /** Starts every host's workers, all at once; resolves when each host is up or has failed. */
  async start (slots: WorkerSlot[]): Promise<HostOutcome[]> {
    return await Promise.all(slots.map(async slot => await this.startHost(slot)))
  }

  private async startHost (slot: WorkerSlot): Promise<HostOutcome> {
    const { options } = this
    const forward = options.tunnel !== undefined ? ['-o', 'ExitOnForwardFailure=yes', '-o', 'LogLevel=INFO', '-R', `0:127.0.0.1:${options.tunnel.port}`] : []
    const ssh = spawn(options.ssh, [...SSH_OPTIONS, ...forward, slot.host, remoteCommand(options)], { stdio: ['pipe', 'pipe', 'pipe'] })
    const host: RemoteHost = { slot, ssh, up: 0, state: 'starting', stderr: [] }
    this.hosts.push(host)
    // An ssh that went away leaves its stdin broken: writing to it must not crash the launcher.
    ssh.stdin.on('error', () => {})
    const sendOrders = (bootstrap: string[]): void => {
      const orders: AgentOrders = { workers: slot.workers, nice: options.nice, config: { ...options.config, bootstrap } }
      ssh.stdin.write(`${JSON.stringify(orders)}\n`)
    }
    return await new Promise<HostOutcome>(resolve => {
      let settled = false
      const settle = (error?: string): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve(error === undefined ? { host: slot.host, workers: slot.workers } : { host: slot.host, workers: slot.workers, error })
      }
      const timer = setTimeout(() => {
        settle(`its workers were not up after ${REMOTE_START_TIMEOUT_MS / 1000} s${host.stderr.length > 0 ? `: ${host.stderr.join('; ')}` : ''}`)
        ssh.kill('SIGTERM')
      }, REMOTE_START_TIMEOUT_MS)
      ssh.on('error', err => {
        host.state = 'ended'
        settle(`cannot run ${options.ssh}: ${err.message} (see --ssh-executable)`)
      })
      createInterface({ input: ssh.stderr }).on('line', line => {
        const allocated = ALLOCATED_PORT.exec(line)
        if (allocated != null && options.tunnel !== undefined) {
          sendOrders([`/ip4/127.0.0.1/tcp/${allocated[1]}/p2p/${options.tunnel.peerId}`])
          return
        }
        host.stderr.push(line)
        if (host.stderr.length > STDERR_LINES_KEPT) host.stderr.shift()
        // While starting, ssh's and the start command's complaints are kept for the error; the
        // agent's and the workers' own messages always pass.
        if (host.state !== 'starting' || FROM_AGENT_OR_WORKER.test(line)) options.relay(slot.host, line)
      })
      createInterface({ input: ssh.stdout }).on('line', line => {
        if (!line.startsWith(AGENT_LINE_PREFIX)) {
          process.stdout.write(`${line}\n`)
          return
        }
        let event: AgentEvent
        try { event = JSON.parse(line.slice(AGENT_LINE_PREFIX.length)) } catch { return }
        if (event.t === 'up' && ++host.up === slot.workers && host.state === 'starting') {
          host.state = 'up'
          options.verbose(`scoop-node: host ${slot.host}: ${slot.workers} worker(s) up`)
          settle()
        } else if (event.t === 'exit' && !this.stopping) {
          options.report(`scoop-node: worker ${slot.host}:${event.pid} exited unexpectedly (${event.signal != null ? `signal ${event.signal}` : `exit code ${String(event.code)}`}); its tasks go back to their owners`)
        }
      })
      ssh.on('close', (code, signal) => {
        const was = host.state
        host.state = 'ended'
        const how = signal != null ? `ssh ended by signal ${signal}` : `ssh exit code ${String(code)}`
        if (was === 'starting') {
          settle(`${host.stderr.length > 0 ? host.stderr.join('; ') : 'the connection closed'} (${how})`)
        } else if (was === 'up' && !this.stopping) {
          options.report(`scoop-node: host ${slot.host}: the link closed (${how}); its workers are gone and their tasks go back to their owners`)
        }
      })
      if (options.tunnel === undefined) sendOrders(options.config.bootstrap)
    })
  }

  /** Ends every host's agent (it ends its workers) by closing its ssh connection. */
  stop (): void {
    this.stopping = true
    for (const host of this.hosts) {
      if (host.state === 'ended') continue
      host.ssh.stdin.end()
      host.ssh.kill('SIGTERM')
    }
  }
}
