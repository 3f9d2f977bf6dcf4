// Monte-Carlo estimate of pi, SCOOP's piCalc: each task throws darts, the origin sums the hits.
// Run: npx scoop-node -n 2 examples/piCalc.ts [tasks] [tries per task]
import { futures, scoop } from 'scoop-node'

export function test (tries: number): number {
  let hits = 0
  for (let i = 0; i < tries; i++) {
    const x = Math.random()
    const y = Math.random()
    if (x * x + y * y <= 1) hits++
  }
  return hits
}

export function whereAmI (): string { return scoop.workerName }

if (scoop.isOrigin) {
  const tasks = Number(process.argv[2] ?? 3000)
  const tries = Number(process.argv[3] ?? 5000)
  const hits = await futures.map(test, Array(tasks).fill(tries))
  console.log(4 * hits.reduce((a, b) => a + b, 0) / (tasks * tries))
}
