#!/usr/bin/env -S node --v8-pool-size=1
// (One V8 background thread, as worker processes have: see WORKER_NODE_OPTIONS in src/defaults.ts.)
// The scoop-node launcher; the implementation is src/launch/cli.ts (compiled to dist/).
import { main } from '../dist/bundle/cli.js'

main().catch(err => {
  process.stderr.write(`scoop-node: ${err?.stack ?? String(err)}\n`)
  process.exit(1)
})
