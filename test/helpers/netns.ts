// Hosts for multi-host tests on one machine: network namespaces (`ip netns`) joined by a veth
// pair or by a bridge, so traffic (mDNS multicast, TCP) crosses a real link. Everything lives
// inside namespaces this helper makes and names after the test process (`scoopt-<pid>-...`):
// the machine's own interfaces and routes are never touched. Needs root.

import { execFileSync, spawn, type ChildProcessByStdio } from 'node:child_process'
import type { Readable } from 'node:stream'
import { ROOT } from './run.js'

const PREFIX = 'scoopt'

/** Addresses of the simulated hosts: 198.18.0.0/15 is reserved for benchmarking networks. */
const SUBNET = '198.18.0'
const SUBNET_PREFIX = 24

/** The interface of a simulated host on the shared link. */
export const LINK_INTERFACE = 'scoop0'

export interface NetnsLabOptions {
  hosts: number
  /** `veth`: two hosts joined directly; `bridge`: any number on a bridge in a namespace of its own. */
  topology?: 'veth' | 'bridge'
  /** Routes multicast (224.0.0.0/4) over the link, as mDNS needs; off to test a host without. */
  multicastRoute?: boolean
}

export interface NetnsHost {
  namespace: string
  /** IPv4 address on the link, e.g. 198.18.0.1. */
  address: string
}

export interface NetnsProcess {
  pid: number
  /** Lines written so far. */
  readonly stdout: string[]
  readonly stderr: string[]
  /** False once the process has ended. */
  readonly running: boolean
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>
  /**
   * The first line (already written or to come) matching `pattern`. Rejects if the process ends
   * first or after `timeoutMs`, a bound against hangs, with its recent output in the message.
   */
  waitForLine: (pattern: RegExp, options?: { stream?: 'stdout' | 'stderr', timeoutMs?: number }) => Promise<RegExpMatchArray>
}

/** Why namespace tests cannot run here, or undefined when they can. */
export function netnsUnavailableReason (): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root'
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'pipe' })
  } catch (err) {
    return `\`ip netns\` is unavailable: ${(err as Error).message.trim()}`
  }
  return undefined
}

function ip (...args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: 'pipe' })
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim() ?? ''
    throw new Error(`ip ${args.join(' ')} failed: ${stderr !== '' ? stderr : (err as Error).message}`)
  }
}

/** Pids of the processes running in a namespace. */
function pidsIn (namespace: string): number[] {
  return ip('netns', 'pids', namespace).split('\n').filter(Boolean).map(Number)
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Our namespaces (by name) whose test process is gone, e.g. after it was killed before cleanup. */
function removeStaleNamespaces (): void {
  for (const line of ip('netns', 'list').split('\n')) {
    const name = line.split(' ')[0]
    const owner = new RegExp(`^${PREFIX}-(\\d+)-`).exec(name)
    if (owner != null && !isAlive(Number(owner[1]))) ip('netns', 'del', name)
  }
}

let labsMade = 0

export class NetnsLab {
  readonly hosts: NetnsHost[] = []
  private readonly namespaces: string[] = []
  private readonly processes: NetnsProcess[] = []

  private constructor (private readonly name: string) {}

  /** Makes the namespaces and the link; on failure removes what it made, then throws. */
  static create (options: NetnsLabOptions): NetnsLab {
    const topology = options.topology ?? (options.hosts === 2 ? 'veth' : 'bridge')
    if (options.hosts < 2) throw new RangeError('a lab needs at least 2 hosts')
    if (topology === 'veth' && options.hosts !== 2) throw new RangeError('a veth pair joins exactly 2 hosts; use a bridge')
    removeStaleNamespaces()
    const lab = new NetnsLab(`${PREFIX}-${process.pid}-${labsMade++}`)
    try {
      lab.build(options.hosts, topology, options.multicastRoute ?? true)
    } catch (err) {
      try { lab.removeNamespaces() } catch (cleanupError) { (err as Error).message += ` (and ${(cleanupError as Error).message})` }
      throw err
    }
    return lab
  }

  private addNamespace (suffix: string): string {
    const namespace = `${this.name}${suffix}`
    ip('netns', 'add', namespace)
    this.namespaces.push(namespace)
    ip('-n', namespace, 'link', 'set', 'lo', 'up')
    return namespace
  }

  private build (count: number, topology: 'veth' | 'bridge', multicastRoute: boolean): void {
    for (let i = 0; i < count; i++) {
      this.hosts.push({ namespace: this.addNamespace(`-${String.fromCharCode(97 + i)}`), address: `${SUBNET}.${i + 1}` })
    }
    if (topology === 'veth') {
      const [a, b] = this.hosts
      ip('-n', a.namespace, 'link', 'add', LINK_INTERFACE, 'type', 'veth', 'peer', 'name', LINK_INTERFACE, 'netns', b.namespace)
    } else {
      const bridgeNamespace = this.addNamespace('-sw')
      ip('-n', bridgeNamespace, 'link', 'add', 'br0', 'type', 'bridge')
      // 224.0.0.x is flooded anyway; without snooping any multicast a test sends is too.
      ip('-n', bridgeNamespace, 'link', 'set', 'br0', 'type', 'bridge', 'mcast_snooping', '0')
      ip('-n', bridgeNamespace, 'link', 'set', 'br0', 'up')
      this.hosts.forEach((host, i) => {
        const port = `port${i}`
        ip('-n', bridgeNamespace, 'link', 'add', port, 'type', 'veth', 'peer', 'name', LINK_INTERFACE, 'netns', host.namespace)
        ip('-n', bridgeNamespace, 'link', 'set', port, 'master', 'br0', 'up')
      })
    }
    for (const host of this.hosts) {
      ip('-n', host.namespace, 'addr', 'add', `${host.address}/${SUBNET_PREFIX}`, 'dev', LINK_INTERFACE)
      ip('-n', host.namespace, 'link', 'set', LINK_INTERFACE, 'up')
      if (multicastRoute) ip('-n', host.namespace, 'route', 'add', '224.0.0.0/4', 'dev', LINK_INTERFACE)
    }
  }

  /** Runs `node ...args` inside a host's namespace (cwd: the package root); killed on cleanup. */
  spawnNode (host: NetnsHost, args: string[], env: Record<string, string> = {}): NetnsProcess {
    return this.spawn(host, process.execPath, args, env)
  }

  /** Runs a command inside a host's namespace (cwd: the package root); killed on cleanup. */
  spawn (host: NetnsHost, command: string, args: string[], env: Record<string, string> = {}): NetnsProcess {
    // `ip netns exec` execs the command in place: the pid we get is the command's own.
    const child: ChildProcessByStdio<null, Readable, Readable> = spawn('ip', ['netns', 'exec', host.namespace, command, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env }
    })
    const output = { stdout: [] as string[], stderr: [] as string[] }
    const listeners = new Set<() => void>()
    const notify = (): void => { for (const listener of listeners) listener() }
    for (const stream of ['stdout', 'stderr'] as const) {
      let partial = ''
      child[stream].setEncoding('utf8')
      child[stream].on('data', (text: string) => {
        const lines = (partial + text).split('\n')
        partial = lines.pop() ?? ''
        output[stream].push(...lines)
        notify()
      })
    }
    let ended = false
    const exited = new Promise<number | string>(resolve => {
      child.on('close', (code, signal) => { ended = true; resolve(code ?? signal ?? 'unknown'); notify() })
    })
    const waitForLine = async (pattern: RegExp, options: { stream?: 'stdout' | 'stderr', timeoutMs?: number } = {}): Promise<RegExpMatchArray> => {
      const lines = output[options.stream ?? 'stdout']
      const timeoutMs = options.timeoutMs ?? 30_000
      return await new Promise((resolve, reject) => {
        let checked = 0
        const finish = (outcome: () => void): void => { listeners.delete(check); clearTimeout(timer); outcome() }
        const failure = (why: string): Error => new Error(`${host.namespace} pid ${String(child.pid)}: ${why} before a line matching ${String(pattern)}\n` +
          `stdout:\n${output.stdout.slice(-20).join('\n')}\nstderr:\n${output.stderr.slice(-20).join('\n')}`)
        const check = (): void => {
          for (; checked < lines.length; checked++) {
            const match = pattern.exec(lines[checked])
            if (match != null) { finish(() => { resolve(match) }); return }
          }
          if (ended) finish(() => { reject(failure('exited')) })
        }
        const timer = setTimeout(() => { finish(() => { reject(failure(`no output for ${timeoutMs} ms`)) }) }, timeoutMs)
        listeners.add(check)
        check()
      })
    }
    const spawned: NetnsProcess = {
      pid: child.pid as number,
      stdout: output.stdout,
      stderr: output.stderr,
      get running () { return !ended },
      exited,
      waitForLine
    }
    this.processes.push(spawned)
    return spawned
  }

  /** Ends every process started here (by pid) and deletes every namespace made; safe to call twice. */
  async cleanup (): Promise<void> {
    await Promise.all(this.processes.splice(0).map(async spawned => {
      try { process.kill(spawned.pid, 'SIGTERM') } catch { return }
      const ended = await Promise.race([spawned.exited.then(() => true), new Promise(resolve => setTimeout(resolve, 5000, false))])
      if (!ended) {
        try { process.kill(spawned.pid, 'SIGKILL') } catch {}
        await spawned.exited
      }
    }))
    this.removeNamespaces()
  }

  /** Pids of the processes running in a host's namespace. */
  pids (host: NetnsHost): number[] {
    return pidsIn(host.namespace)
  }

  /** Deletes every namespace made, going on past failures, which it then reports together. */
  private removeNamespaces (): void {
    const failures: string[] = []
    for (const namespace of this.namespaces.splice(0).reverse()) {
      try {
        // Anything still running in a namespace we made was started there by this test.
        for (const pid of pidsIn(namespace)) {
          try { process.kill(pid, 'SIGKILL') } catch {}
        }
        ip('netns', 'del', namespace)
      } catch (err) {
        failures.push((err as Error).message)
      }
    }
    if (failures.length > 0) throw new Error(`netns cleanup: ${failures.join('; ')}`)
  }
}

/** Skips the mocha suite this is called in, saying why, when `unavailable` gives a reason. */
export function skipSuiteUnless (unavailable: () => string | undefined): void {
  before(function () {
    const reason = unavailable()
    if (reason !== undefined) {
      process.stdout.write(`      (skipped: ${reason})\n`)
      this.skip()
    }
  })
}

/**
 * For a mocha suite whose tests each make a lab: skips the suite, saying why, where namespaces
 * cannot be made, and cleans up each test's lab after it, whatever happened. Returns the maker.
 */
export function labPerTest (): (options: NetnsLabOptions) => NetnsLab {
  let lab: NetnsLab | undefined
  skipSuiteUnless(netnsUnavailableReason)
  afterEach(async () => {
    await lab?.cleanup()
    lab = undefined
  })
  return options => {
    lab = NetnsLab.create(options)
    return lab
  }
}
