// The baseline: a plain child_process pool (no mesh, no libp2p, no work stealing), the way one
// would write it by hand. Tasks go in batches over IPC, round-robin to idle children.
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

const CHILD = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', 'bench', 'baseline', 'child.mjs')

export class ChildPool {
  private readonly children: ChildProcess[] = []
  private nextId = 0
  private readonly waiting = new Map<number, (results: unknown[]) => void>()

  private constructor () {}

  static async start (size: number, moduleUrl: string): Promise<ChildPool> {
    const pool = new ChildPool()
    await Promise.all(Array.from({ length: size }, async () => {
      const child = fork(CHILD, [moduleUrl], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      pool.children.push(child)
      await new Promise<void>(resolve => {
        child.on('message', (m: any) => {
          if (m.ready === true) { resolve(); return }
          const done = pool.waiting.get(m.id)
          pool.waiting.delete(m.id)
          done?.(m.results)
        })
      })
    }))
    return pool
  }

  private async send (child: ChildProcess, fn: string, items: unknown[][]): Promise<unknown[]> {
    const id = this.nextId++
    return await new Promise(resolve => { this.waiting.set(id, resolve); child.send({ id, fn, items }) })
  }

  async call (fn: string, ...args: unknown[]): Promise<unknown> {
    return (await this.send(this.children[0], fn, [args]))[0]
  }

  /** Ordered map in batches of `chunk`, each child taking the next batch when it is free. */
  async map (fn: string, items: unknown[], chunk: number): Promise<unknown[]> {
    const out = new Array(items.length)
    let next = 0
    await Promise.all(this.children.map(async child => {
      while (next < items.length) {
        const start = next
        next += chunk
        const results = await this.send(child, fn, items.slice(start, start + chunk).map(x => [x]))
        for (let k = 0; k < results.length; k++) out[start + k] = results[k]
      }
    }))
    return out
  }

  stop (): void { for (const c of this.children) c.kill() }
}
