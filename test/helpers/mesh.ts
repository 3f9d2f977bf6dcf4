// Long-lived meshes for tests: `scoop-node --listen|--join ... -n N` started in its own process
// group, its address and worker pids read from its output, and stopped by its pid (SIGTERM,
// then SIGKILL of the group if anything is left).

import { spawn, type ChildProcess } from 'node:child_process'
import { CLI, ROOT, reapGroup } from './run.js'

export class LongLivedMesh {
  readonly workerPids: number[] = []
  stdout = ''
  stderr = ''
  private readonly waiters = new Set<() => void>()
  private exited = false

  private constructor (readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => { this.stdout += d.toString(); this.wake() })
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString()
      for (const m of this.stderr.matchAll(/worker (\d+) up on/g)) {
        const pid = Number(m[1])
        if (!this.workerPids.includes(pid)) this.workerPids.push(pid)
      }
      this.wake()
    })
    child.on('exit', () => { this.exited = true; this.wake() })
  }

  /** Starts `scoop-node -v ...args` and waits until it prints its address. */
  static async start (args: string[], env: Record<string, string> = {}): Promise<LongLivedMesh> {
    const child = spawn(process.execPath, [CLI, '-v', ...args], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    const mesh = new LongLivedMesh(child)
    await mesh.waitFor(() => mesh.address !== undefined, 'its address')
    return mesh
  }

  get pid (): number { return this.child.pid as number }

  /** The mesh's first address (loopback): what `--join` takes. */
  get address (): string | undefined { return /listening on (\S+)/.exec(this.stdout)?.[1] }

  /** Resolves when `ready()` holds; rejects if the process exits first or after `timeoutMs`. */
  async waitFor (ready: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!ready()) {
      if (this.exited) throw new Error(`the mesh exited before ${what}:\n${this.stdout}\n${this.stderr}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms:\n${this.stdout}\n${this.stderr}`)
      await new Promise<void>(resolve => {
        const timer = setTimeout(done, left)
        function done (): void { clearTimeout(timer); waiters.delete(done); resolve() }
        const waiters = this.waiters
        waiters.add(done)
      })
    }
  }

  private wake (): void {
    for (const waiter of [...this.waiters]) waiter()
  }

  /** SIGTERM to the supervisor; returns what is left of its process group after a bounded wait (then killed). */
  async stop (): Promise<number[]> {
    if (!this.exited) this.child.kill('SIGTERM')
    await this.waitFor(() => this.exited, 'its exit', 15_000).catch(() => {})
    return await reapGroup(this.pid, 5000)
  }
}
