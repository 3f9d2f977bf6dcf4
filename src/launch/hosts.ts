// The host list of a run, sans-IO: parses SCOOP's hostfile and `--hosts` forms, reads the
// allocation of a batch scheduler (Slurm, PBS/Torque, SGE, LSF) from the environment and files
// it is handed, and spreads `-n` workers over the hosts with SCOOP's rules.

import { InvalidArgumentError } from '../errors.js'

/** A host and the workers to start on it; `undefined`: as many as the host has CPUs (the caller finds out). */
export interface HostSlot {
  host: string
  workers: number | undefined
}

/** A host whose worker count is known. */
export interface WorkerSlot {
  host: string
  workers: number
}

export type BatchScheduler = 'slurm' | 'pbs' | 'sge' | 'lsf'

export type Env = Record<string, string | undefined>

/** Reads a whole text file; the launcher passes `path => fs.readFileSync(path, 'utf8')`, tests a fake. */
export type ReadFile = (path: string) => string

/**
 * The most hosts a Slurm node list may expand to: a typo such as `node[0-99999999]` must fail
 * with a message, not stall the launcher while it builds millions of names.
 */
export const MAX_EXPANDED_HOSTS = 100_000

/** A worker count as written (`4`, `-1`, `2.5`); anything else on a hostfile line is a label to skip. */
const NUMBER = /^[+-]?\d+(\.\d*)?$/

/** Characters no host name holds: SCOOP's hostfile rule (`/`, `=`) plus the comment mark. */
const NOT_A_HOST = /[/=#\s]/

/** The count in `text`, which must be a whole number ≥ 1; `where` names the source for the error. */
function workerCount (text: string, where: string): number {
  const n = Number(text)
  if (!/^[+-]?\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`${where}: worker count '${text}' must be a whole number of at least 1`)
  }
  return n
}

/** Env values that are set but empty count as unset: `export SLURM_NODELIST=` means nothing. */
function envValue (env: Env, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}

function readAllocationFile (readFile: ReadFile, variable: string, path: string): string {
  try {
    return readFile(path)
  } catch (err) {
    throw new InvalidArgumentError(`${variable}=${path}: cannot read the file: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * Adds up the counts of repeated hosts, keeping the order of first appearance: a scheduler lists a
 * host once per slot or once per queue, and a hostfile may name a host on several lines.
 */
function tally (entries: Iterable<WorkerSlot>): WorkerSlot[] {
  const byHost = new Map<string, WorkerSlot>()
  for (const { host, workers } of entries) {
    const seen = byHost.get(host)
    if (seen === undefined) byHost.set(host, { host, workers })
    else seen.workers += workers
  }
  return [...byHost.values()]
}

/**
 * SCOOP's hostfile: one host per line, then optionally its worker count as `N`, `worker=N` or
 * `slots=N` (the first number on the line counts, other words are skipped); `#` starts a comment.
 * A host without a count gets `undefined` (its CPU count); a host on several lines adds up its
 * counts, in the order hosts first appear.
 */
export function parseHostfile (text: string, fileName: string): HostSlot[] {
  const byHost = new Map<string, { slot: HostSlot, line: number }>()
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const where = `${fileName}:${i + 1}`
    const tokens = lines[i].replace(/#.*/, '').trim().split(/\s+/).filter(t => t !== '')
    if (tokens.length === 0) continue
    const [host, ...rest] = tokens
    if (NOT_A_HOST.test(host)) {
      throw new InvalidArgumentError(`${where}: a line must start with a host name, not '${host}'`)
    }
    let workers: number | undefined
    for (const token of rest) {
      // `worker=4`, `slots=4`: the value counts; a bare word (a label, a queue name) is skipped.
      const value = token.includes('=') ? token.slice(token.indexOf('=') + 1) : token
      if (NUMBER.test(value)) {
        workers = workerCount(value, `${where} (host '${host}')`)
        break
      }
    }
    const seen = byHost.get(host)
    if (seen === undefined) {
      byHost.set(host, { slot: { host, workers }, line: i + 1 })
    } else if (seen.slot.workers === undefined || workers === undefined) {
      // "its CPU count" plus a number (or twice) has no count we could start: ask for one.
      throw new InvalidArgumentError(`${where}: host '${host}' is also listed at line ${seen.line}; a host listed on several lines needs a worker count on each`)
    } else {
      seen.slot.workers += workers
    }
  }
  return [...byHost.values()].map(s => s.slot)
}

/** `--hosts a a b`: a host repeated is that many workers (a: 2, b: 1), in order of first appearance. */
export function parseHostsOption (hosts: string[]): WorkerSlot[] {
  return tally(hosts.map((entry, i) => {
    const host = entry.trim()
    if (host === '' || NOT_A_HOST.test(host)) {
      throw new InvalidArgumentError(`--hosts: entry ${i + 1} '${entry}' is not a host name`)
    }
    return { host, workers: 1 }
  }))
}

/**
 * SCOOP's `-n` rules. `n` undefined: the hosts as given. Fewer than the hosts hold: the first hosts
 * keep their full count and the last ones are trimmed (a host left with none is dropped). More: one
 * more worker per host, round-robin in host order, until there are `n`.
 */
export function distributeWorkers (slots: WorkerSlot[], n: number | undefined): WorkerSlot[] {
  for (const { host, workers } of slots) {
    if (!Number.isSafeInteger(workers) || workers < 1) {
      throw new InvalidArgumentError(`host '${host}': worker count ${workers} must be a whole number of at least 1`)
    }
  }
  if (n === undefined) return slots.map(s => ({ ...s }))
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`-n: ${n} must be a whole number of at least 1`)
  }
  if (slots.length === 0) {
    throw new InvalidArgumentError(`-n ${n}: there are no hosts to start workers on`)
  }
  const total = slots.reduce((sum, s) => sum + s.workers, 0)
  if (n <= total) {
    const result: WorkerSlot[] = []
    let left = n
    for (const { host, workers } of slots) {
      if (left === 0) break
      const take = Math.min(workers, left)
      result.push({ host, workers: take })
      left -= take
    }
    return result
  }
  // Same result as SCOOP's loop that adds one worker to host after host, without the loop.
  const extra = n - total
  const each = Math.floor(extra / slots.length)
  const remainder = extra % slots.length
  return slots.map(({ host, workers }, i) => ({ host, workers: workers + each + (i < remainder ? 1 : 0) }))
}

/** Splits `text` at commas outside brackets: `a,b[1-3,5],c` → `a`, `b[1-3,5]`, `c`. */
function splitOutsideBrackets (text: string, list: string): string[] {
  const parts: string[] = []
  let depth = 0
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '[') {
      if (depth > 0) throw new InvalidArgumentError(`Slurm node list '${list}': nested '[' at position ${i + 1}`)
      depth++
    } else if (c === ']') {
      if (depth === 0) throw new InvalidArgumentError(`Slurm node list '${list}': ']' without '[' at position ${i + 1}`)
      depth--
    } else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i))
      start = i + 1
    }
  }
  if (depth > 0) throw new InvalidArgumentError(`Slurm node list '${list}': '[' is never closed`)
  parts.push(text.slice(start))
  return parts
}

/** The values of one bracket group, `01-04,07` → `01 02 03 04 07`: the width of a range's start is kept. */
function expandRanges (group: string, list: string): string[] {
  const values: string[] = []
  for (const item of group.split(',')) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(item)
    if (m === null) throw new InvalidArgumentError(`Slurm node list '${list}': '${item}' in '[${group}]' is not a number or a range like 01-04`)
    const [, lo, hi] = m
    if (hi === undefined) {
      values.push(lo)
      continue
    }
    const from = Number(lo)
    const to = Number(hi)
    if (to < from) throw new InvalidArgumentError(`Slurm node list '${list}': range '${item}' ends before it starts`)
    if (to - from + 1 > MAX_EXPANDED_HOSTS) {
      throw new InvalidArgumentError(`Slurm node list '${list}': range '${item}' names more than ${MAX_EXPANDED_HOSTS} hosts`)
    }
    // `008-011` → 008 009 010 011; `8-11` → 8 9 10 11, as Slurm writes them.
    for (let v = from; v <= to; v++) values.push(String(v).padStart(lo.length, '0'))
  }
  return values
}

/**
 * Slurm's compressed host list (`SLURM_JOB_NODELIST`), as `scontrol show hostnames` expands it:
 * `a,b[1-3],c`, `node[01-04,07]` (zero padding kept), `rack[1-2]-node[01-02]` (every combination,
 * the first group varying slowest).
 */
export function expandSlurmNodelist (list: string): string[] {
  const hosts: string[] = []
  for (const rawName of splitOutsideBrackets(list.trim(), list)) {
    const name = rawName.trim()
    if (name === '') throw new InvalidArgumentError(`Slurm node list '${list}': empty host name`)
    // Alternate literal text and bracket groups: `rack[1-2]-node[01-02]` → rack, [1,2], -node, [01,02].
    let names = ['']
    for (const piece of name.split(/(\[[^\]]*\])/)) {
      if (piece === '') continue
      const choices = piece.startsWith('[') ? expandRanges(piece.slice(1, -1), list) : [piece]
      if (names.length * choices.length + hosts.length > MAX_EXPANDED_HOSTS) {
        throw new InvalidArgumentError(`Slurm node list '${list}' names more than ${MAX_EXPANDED_HOSTS} hosts`)
      }
      names = names.flatMap(prefix => choices.map(choice => prefix + choice))
    }
    if (names.some(n => NOT_A_HOST.test(n))) throw new InvalidArgumentError(`Slurm node list '${list}': '${name}' is not a host name`)
    hosts.push(...names)
  }
  return hosts
}

/** `SLURM_TASKS_PER_NODE`, `2(x3),1` → [2, 2, 2, 1]; it must describe exactly `nodeCount` nodes. */
export function parseSlurmTasksPerNode (spec: string, nodeCount: number): number[] {
  const groups = spec.trim().split(',').map(item => {
    const m = /^\s*(\d+)(?:\(x(\d+)\))?\s*$/.exec(item)
    if (m === null) throw new InvalidArgumentError(`SLURM_TASKS_PER_NODE '${spec}': '${item}' is not a count like 2 or 2(x3)`)
    return {
      tasks: workerCount(m[1], `SLURM_TASKS_PER_NODE '${spec}'`),
      repeat: m[2] === undefined ? 1 : workerCount(m[2], `SLURM_TASKS_PER_NODE '${spec}' (repeat in '${item.trim()}')`)
    }
  })
  // Checked before expanding, so that a huge `(xN)` fails at once instead of building the array.
  const described = groups.reduce((sum, g) => sum + g.repeat, 0)
  if (described !== nodeCount) {
    throw new InvalidArgumentError(`SLURM_TASKS_PER_NODE '${spec}' describes ${described} node(s) but the node list has ${nodeCount}`)
  }
  return groups.flatMap(g => new Array<number>(g.repeat).fill(g.tasks))
}

/**
 * The allocation inside a Slurm job: hosts from `SLURM_JOB_NODELIST` (older Slurm:
 * `SLURM_NODELIST`), counts from `SLURM_TASKS_PER_NODE`, else `SLURM_NTASKS` spread as Slurm's
 * block distribution does (the first nodes get one more), else each host's CPU count.
 * `undefined` outside Slurm.
 */
export function slotsFromSlurm (env: Env): HostSlot[] | undefined {
  const variable = envValue(env, 'SLURM_JOB_NODELIST') !== undefined ? 'SLURM_JOB_NODELIST' : 'SLURM_NODELIST'
  const list = envValue(env, variable)
  if (list === undefined) return undefined
  const hosts = expandSlurmNodelist(list)
  if (hosts.length === 0) throw new InvalidArgumentError(`${variable} '${list}' names no hosts`)
  const perNode = envValue(env, 'SLURM_TASKS_PER_NODE')
  if (perNode !== undefined) {
    const counts = parseSlurmTasksPerNode(perNode, hosts.length)
    return tally(hosts.map((host, i) => ({ host, workers: counts[i] })))
  }
  const ntasks = envValue(env, 'SLURM_NTASKS')
  if (ntasks !== undefined) {
    const total = workerCount(ntasks, `SLURM_NTASKS '${ntasks}'`)
    const each = Math.floor(total / hosts.length)
    const remainder = total % hosts.length
    // Fewer tasks than nodes (`-N 4 -n 2`): the nodes left without a task get no worker.
    return tally(hosts.map((host, i) => ({ host, workers: each + (i < remainder ? 1 : 0) })).filter(s => s.workers > 0))
  }
  return [...new Set(hosts)].map(host => ({ host, workers: undefined }))
}

/** PBS/Torque: `PBS_NODEFILE` names one host per line, once per slot. `undefined` outside PBS. */
export function slotsFromPbs (env: Env, readFile: ReadFile): WorkerSlot[] | undefined {
  const path = envValue(env, 'PBS_NODEFILE')
  if (path === undefined) return undefined
  const hosts = readAllocationFile(readFile, 'PBS_NODEFILE', path).split(/\r?\n/).map(l => l.trim()).filter(l => l !== '')
  if (hosts.length === 0) throw new InvalidArgumentError(`PBS_NODEFILE=${path}: the file lists no hosts`)
  return tally(hosts.map(host => ({ host, workers: 1 })))
}

/** SGE: `PE_HOSTFILE` lines are `host slots queue processors`. `undefined` outside an SGE parallel environment. */
export function slotsFromSge (env: Env, readFile: ReadFile): WorkerSlot[] | undefined {
  const path = envValue(env, 'PE_HOSTFILE')
  if (path === undefined) return undefined
  const slots: WorkerSlot[] = []
  const lines = readAllocationFile(readFile, 'PE_HOSTFILE', path).split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const tokens = lines[i].trim().split(/\s+/).filter(t => t !== '')
    if (tokens.length === 0) continue
    const where = `PE_HOSTFILE=${path}:${i + 1}`
    if (tokens.length < 2) throw new InvalidArgumentError(`${where}: expected 'host slots queue processors', got '${lines[i].trim()}'`)
    slots.push({ host: tokens[0], workers: workerCount(tokens[1], `${where} (host '${tokens[0]}')`) })
  }
  if (slots.length === 0) throw new InvalidArgumentError(`PE_HOSTFILE=${path}: the file lists no hosts`)
  // A host appears once per queue it gives slots from.
  return tally(slots)
}

/**
 * LSF: `LSB_MCPU_HOSTS` (`hostA 4 hostB 2`), else `LSB_HOSTS` (`hostA hostA hostB`, once per
 * slot). `undefined` outside LSF.
 */
export function slotsFromLsf (env: Env): WorkerSlot[] | undefined {
  const mcpu = envValue(env, 'LSB_MCPU_HOSTS')
  if (mcpu !== undefined) {
    const tokens = mcpu.split(/\s+/)
    if (tokens.length % 2 !== 0) {
      throw new InvalidArgumentError(`LSB_MCPU_HOSTS '${mcpu}': expected pairs of 'host count', got ${tokens.length} words`)
    }
    const slots: WorkerSlot[] = []
    for (let i = 0; i < tokens.length; i += 2) {
      slots.push({ host: tokens[i], workers: workerCount(tokens[i + 1], `LSB_MCPU_HOSTS '${mcpu}' (host '${tokens[i]}')`) })
    }
    return tally(slots)
  }
  const hosts = envValue(env, 'LSB_HOSTS')
  if (hosts === undefined) return undefined
  return tally(hosts.split(/\s+/).map(host => ({ host, workers: 1 })))
}

/**
 * The allocation of the batch job this process runs in, trying Slurm, PBS/Torque, SGE, then LSF;
 * `undefined` outside any. A scheduler whose variables are set but malformed throws rather than
 * falling through to the next: starting on the wrong hosts would be worse than stopping.
 */
export function detectBatchScheduler (env: Env, readFile: ReadFile): { scheduler: BatchScheduler, slots: HostSlot[] } | undefined {
  const readers: Array<[BatchScheduler, () => HostSlot[] | undefined]> = [
    ['slurm', () => slotsFromSlurm(env)],
    ['pbs', () => slotsFromPbs(env, readFile)],
    ['sge', () => slotsFromSge(env, readFile)],
    ['lsf', () => slotsFromLsf(env)]
  ]
  for (const [scheduler, read] of readers) {
    const slots = read()
    if (slots !== undefined) return { scheduler, slots }
  }
  return undefined
}

/** Where a run's host list came from: an option, or the batch allocation it runs in. */
export type HostSource = '--hosts' | '--hostfile' | BatchScheduler

/** A run's hosts with their worker counts, after `-n`. */
export interface HostPlan {
  source: HostSource
  slots: WorkerSlot[]
}

export interface HostRequest {
  hosts?: string[]
  hostfile?: string
  /** SCOOP's -n, the origin included. */
  workers?: number
  /** Workers for a host listed without a count: this machine's CPU count (clusters are mostly uniform). */
  workersPerUnknownHost: number
}

/**
 * The hosts a run starts workers on: `--hosts`, else `--hostfile`, else the allocation of the
 * batch job this process runs in; `undefined` when none applies (a run on this machine alone).
 */
export function planHosts (request: HostRequest, env: Env, readFile: ReadFile): HostPlan | undefined {
  if (request.hosts !== undefined && request.hostfile !== undefined) {
    throw new InvalidArgumentError('--hosts and --hostfile both name the hosts: give one of them')
  }
  let source: HostSource
  let slots: HostSlot[]
  if (request.hosts !== undefined) {
    source = '--hosts'
    slots = parseHostsOption(request.hosts)
  } else if (request.hostfile !== undefined) {
    source = '--hostfile'
    let text: string
    try {
      text = readFile(request.hostfile)
    } catch (err) {
      throw new InvalidArgumentError(`--hostfile ${request.hostfile}: cannot read the file: ${(err as Error).message}`, { cause: err })
    }
    slots = parseHostfile(text, request.hostfile)
  } else {
    const batch = detectBatchScheduler(env, readFile)
    if (batch === undefined) return undefined
    source = batch.scheduler
    slots = batch.slots
  }
  if (slots.length === 0) throw new InvalidArgumentError(`${source}: no hosts are listed`)
  const known = slots.map(({ host, workers }) => ({ host, workers: workers ?? request.workersPerUnknownHost }))
  return { source, slots: distributeWorkers(known, request.workers) }
}

/** How this machine is named: its host names and the addresses of its interfaces. */
export interface ThisMachine {
  hostname: string
  addresses: string[]
}

/**
 * Whether `host` (as a host list writes it) is this machine: loopback names, its host name with
 * or without the domain, or an address of one of its interfaces. No DNS: a lookup could stall
 * the launcher on a machine with no resolver, and schedulers write the names `hostname` prints.
 */
export function isThisMachine (host: string, machine: ThisMachine): boolean {
  // `user@host` asks for ssh as that user: started remotely even if it names this machine.
  if (host.includes('@')) return false
  const name = host.toLowerCase()
  if (name === 'localhost' || name === '::1' || name.startsWith('127.')) return true
  const own = machine.hostname.toLowerCase()
  const shortName = (n: string): string => n.split('.')[0]
  if (name === own || (!/^\d+(\.\d+){3}$/.test(name) && shortName(name) === shortName(own))) return true
  return machine.addresses.some(a => a.toLowerCase() === name)
}
