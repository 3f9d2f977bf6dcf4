// Runs the scoop-node launcher (or a plain `node script`) as a user would, in its own process
// group, and reports what is left of that group afterwards: a clean run leaves nothing.

import { spawn, execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
export const CLI = join(ROOT, 'bin', 'scoop-node.js')
export const fixture = (name: string): string => join(ROOT, 'test', 'fixtures', name)
export const example = (name: string): string => join(ROOT, 'examples', name)

export interface RunResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** Processes of the run's process group still alive after it ended (then killed). */
  leftovers: number[]
}

/** Pids still in a process group. */
export function processGroupMembers (pgid: number): number[] {
  return execFileSync('ps', ['-e', '-o', 'pid=,pgid=,stat='], { encoding: 'utf8' })
    .split('\n')
    .map(line => line.trim().split(/\s+/))
    .filter(([pid, group, stat]) => Number(group) === pgid && Number(pid) > 0 && !stat?.startsWith('Z'))
    .map(([pid]) => Number(pid))
}

/**
 * Waits (bounded) for a process group to empty, then SIGKILLs what is left of it; returns the
 * pids that were left (a clean end leaves none). Workers get a moment to notice their origin is gone.
 */
export async function reapGroup (pgid: number, withinMs: number): Promise<number[]> {
  const deadline = Date.now() + withinMs
  let left = processGroupMembers(pgid)
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 100))
    left = processGroupMembers(pgid)
  }
  if (left.length > 0) { try { process.kill(-pgid, 'SIGKILL') } catch {} }
  return left
}

export interface RunOptions {
  env?: Record<string, string>
  /** Upper bound against a hang; the group is killed after it. */
  timeout?: number
  /** Called with the child's pid once started (e.g. to kill it). */
  onStart?: (pid: number) => void
  /** Called on each chunk of stdout. */
  onStdout?: (text: string, pid: number) => void
}

export async function run (command: string[], options: RunOptions = {}): Promise<RunResult> {
  return await runWith(process.execPath, command, options)
}

/** Like run, with another Node binary. */
export async function runWith (node: string, command: string[], options: RunOptions = {}): Promise<RunResult> {
  const child = spawn(node, command, {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env }
  })
  const pid = child.pid as number
  options.onStart?.(pid)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); options.onStdout?.(d.toString(), pid) })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const timer = setTimeout(() => { try { process.kill(-pid, 'SIGKILL') } catch {} }, options.timeout ?? 60_000)
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(resolve => {
    child.on('close', (c, s) => { resolve([c, s]) })
  })
  clearTimeout(timer)
  const leftovers = await reapGroup(pid, 5000)
  return { code, signal, stdout, stderr, leftovers }
}

/** `scoop-node -n <n> <script> [args]` */
export async function scoop (n: number, script: string, args: string[] = [], options: RunOptions = {}): Promise<RunResult> {
  return await run([CLI, '-n', String(n), script, ...args], options)
}
