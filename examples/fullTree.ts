// SCOOP's fullTree: every task spawns sub-tasks and waits for them, to any depth. A task that
// awaits its children frees its worker for other tasks, so even 2 workers never deadlock.
// Run: npx scoop-node -n 2 examples/fullTree.ts [depth]
import { futures, scoop } from 'scoop-node'

/** A node of the tree: a leaf returns 1, an inner node sums its two sub-trees, computed as tasks. */
export async function subtree (depth: number): Promise<number> {
  if (depth === 0) return 1
  const [left, right] = await futures.map(subtree, [depth - 1, depth - 1])
  return 1 + left + right
}

/** Heterogeneous tasks: a node may also run a task of another kind (here, a leaf computation). */
export function leafWork (seed: number): number {
  let x = seed
  for (let i = 0; i < 1000; i++) x = (x * 1103515245 + 12345) % 2147483648
  return x % 2
}

export async function mixed (depth: number): Promise<number> {
  if (depth === 0) return await futures.submit(leafWork, depth)
  const children = [futures.submit(mixed, depth - 1), futures.submit(subtree, depth - 1)]
  const values = await Promise.all(children.map(async f => await f.result()))
  return values.reduce((a, b) => a + b, 0)
}

if (scoop.isOrigin) {
  const depth = Number(process.argv[2] ?? 12)
  const nodes = await futures.submit(subtree, depth)
  console.log(`binary tree of depth ${depth}: ${nodes} tasks (expected ${2 ** (depth + 1) - 1})`)
  console.log(`mixed tree of depth 6: ${await futures.submit(mixed, 6)}`)
}
