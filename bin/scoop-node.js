#!/usr/bin/env node
// The scoop-node launcher; the implementation is src/launch/cli.ts (compiled to dist/).
import { main } from '../dist/bundle/cli.js'

main().catch(err => {
  process.stderr.write(`scoop-node: ${err?.stack ?? String(err)}\n`)
  process.exit(1)
})
