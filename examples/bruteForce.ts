// SCOOP's shared-constant brute force: tasks search slices of a key space for the word whose
// hash is the target. The task that finds it sets a shared constant; every other task sees it
// and stops early, and the origin stops submitting.
// Run: npx scoop-node -n 2 examples/bruteForce.ts [word]
import { createHash } from 'node:crypto'
import { futures, shared, scoop } from 'scoop-node'

const LETTERS = 'abcdefghijklmnopqrstuvwxyz'

const sha256 = (word: string): string => createHash('sha256').update(word).digest('hex')

/** Tries every 4-letter word starting with `prefix`; returns the match or '' . */
export async function searchSlice (prefix: string): Promise<string> {
  const found = await shared.getConst<string>('found', { timeout: 0 }).catch(() => undefined)
  if (found !== undefined) return '' // someone else found it: stop early
  const target = await shared.getConst<string>('target')
  for (const c of LETTERS) {
    for (const d of LETTERS) {
      const word = prefix + c + d
      if (sha256(word) === target) {
        await shared.setConst({ found: word }).catch(() => {}) // two finders: the first one wins
        return word
      }
    }
  }
  return ''
}

if (scoop.isOrigin) {
  const secret = process.argv[2] ?? 'mesh'
  await shared.setConst({ target: sha256(secret) })
  const prefixes = [...LETTERS].flatMap(a => [...LETTERS].map(b => a + b))
  let slices = 0
  for await (const word of futures.mapAsCompleted(searchSlice, prefixes)) {
    slices++
    if (word !== '') {
      console.log(`found '${word}' after ${slices} of ${prefixes.length} slices`)
      break // stops the map: slices still queued are cancelled
    }
  }
}
