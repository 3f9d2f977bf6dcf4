// submit + asCompleted in plain JavaScript: start tasks, handle each as soon as it finishes.
// Run without the launcher (a local mesh of one worker per core): node examples/submitAsCompleted.mjs
// or on N workers: npx scoop-node -n N examples/submitAsCompleted.mjs
import { futures, scoop } from 'scoop-node'

/** Simulates work of varying length, then reports where it ran. */
export async function job (id, ms) {
  await new Promise(resolve => setTimeout(resolve, ms))
  return { id, ms, worker: scoop.workerName }
}

if (scoop.isOrigin) {
  const durations = [300, 50, 200, 10, 120]
  const fs = durations.map((ms, id) => futures.submit(job, id, ms))
  for await (const future of futures.asCompleted(fs, { timeout: 10_000 })) {
    const { id, ms } = await future.result()
    console.log(`job ${id} (${ms} ms) done`)
  }
}
