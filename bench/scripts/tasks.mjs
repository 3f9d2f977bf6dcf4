// The functions every benchmark runs: on scoop-node (workloads.mjs) and on the Node peers (bench/peers/).
export function identity (x) { return x }

export function piHits (tries) {
  let hits = 0
  for (let i = 0; i < tries; i++) {
    const x = Math.random()
    const y = Math.random()
    if (x * x + y * y <= 1) hits++
  }
  return hits
}
