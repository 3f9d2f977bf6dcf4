// SCOOP's hello world: map a builtin over a list, on every worker of the mesh.
// Run: npx scoop-node -n 2 examples/mapDoc.ts   or, without the launcher: npx tsx examples/mapDoc.ts
import { futures, scoop } from 'scoop-node'

export function helloWorld (value: number): string {
  return `Hello World from Future #${value} (worker ${scoop.workerName})`
}

if (scoop.isOrigin) {
  const absolutes = await futures.map(Math.abs, [-3, -2, -1, 0, 1])
  console.log(absolutes.join(' '))
  for await (const line of futures.map(helloWorld, [0, 1, 2, 3])) console.log(line)
}
