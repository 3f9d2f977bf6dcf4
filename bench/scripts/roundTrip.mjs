// Sequential submit().result() round trips; prints the median and p90 in microseconds as JSON.
import { futures, scoop } from 'scoop-node'

export function echo (x) { return x }
export function whoAmI () { return scoop.workerName }

if (scoop.isOrigin) {
  const want = Number(process.argv[2] ?? 2)
  const deadline = Date.now() + 30_000
  while (scoop.size < want && Date.now() < deadline) await futures.submit(whoAmI)
  const samples = []
  for (let i = 0; i < 3000; i++) {
    const t = process.hrtime.bigint()
    await futures.submit(echo, i).result()
    if (i >= 300) samples.push(Number(process.hrtime.bigint() - t) / 1000)
  }
  samples.sort((a, b) => a - b)
  console.log(JSON.stringify({ medianUs: samples[samples.length >> 1], p90Us: samples[Math.floor(samples.length * 0.9)], ranOn: await futures.submit(whoAmI) === scoop.workerName ? 'origin' : 'another worker' }))
}
