// Files that start a process or a thread. Those that hold a libp2p node are bundled (see
// scripts/bundle.mjs): loading libp2p's ~600 modules one by one costs ~0.7 s per process,
// a bundle ~0.14 s. The executor thread is not bundled: it must share the user's copy of
// scoop-node, which it imports unbundled.

import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

function findPackageRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'scoop-node') return dir
    const parent = dirname(dir)
    if (parent === dir) throw new Error('scoop-node: cannot find its own package.json')
    dir = parent
  }
}

const root = findPackageRoot()

export const WORKER_PROCESS_ENTRY = join(root, 'dist/bundle/worker-process.js')
export const EMBEDDED_HOST_THREAD_ENTRY = pathToFileURL(join(root, 'dist/bundle/embedded-host-thread.js'))
export const EXECUTOR_THREAD_ENTRY = pathToFileURL(join(root, 'dist/bundle/executor-thread.js'))
/** Run by node on each remote host (see remote.ts): scoop-node is installed at the same path there. */
export const REMOTE_AGENT_ENTRY = join(root, 'dist/src/launch/remote-agent.js')
