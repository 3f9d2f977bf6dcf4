// SCOOP's mapReduce: count words in parallel, then merge the counts from the left, in order.
// Run: npx scoop-node -n 2 examples/mapReduce.ts
import { futures, scoop } from 'scoop-node'

const TEXT = [
  'the quick brown fox jumps over the lazy dog',
  'the dog sleeps and the fox runs',
  'a mesh of workers maps and reduces',
  'the workers steal work from each other'
]

/** Word counts of one line (runs on any worker). */
export function countWords (line: string): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const word of line.split(/\s+/)) if (word !== '') counts[word] = (counts[word] ?? 0) + 1
  return counts
}

/** Merges two counts (runs on the caller, folding from the left). */
function merge (a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a }
  for (const [word, n] of Object.entries(b)) out[word] = (out[word] ?? 0) + n
  return out
}

if (scoop.isOrigin) {
  const counts = await futures.mapReduce(countWords, merge, TEXT)
  const top = Object.entries(counts).sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0])).slice(0, 3)
  console.log(top.map(([w, n]) => `${w}: ${n}`).join(', '))
  // Left fold in input order: a non-commutative reduction gives the serial answer.
  console.log(await futures.mapReduce(String, (a: string, b: string) => a + b, [1, 2, 3, 4, 5]))
}
