// Tasks of the scoop-node workloads that use the mesh themselves (bench/scripts/workloads.mjs and
// bench/profile/workloads.mjs export them, so that workers find them in the script they load).
import { futures, scoop } from 'scoop-node'

/** A node of a binary tree of tasks: it waits for its two children (by map, as SCOOP's fullTree does). */
export async function subtree (depth) {
  if (depth === 0) return 1
  const [a, b] = await futures.map(subtree, [depth - 1, depth - 1])
  return 1 + a + b
}

export function whoAmI () { return scoop.workerName }
