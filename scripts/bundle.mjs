// Bundles the entry points that load libp2p (the launcher, worker processes, the embedded
// host thread) into dist/bundle/: one file each loads ~5x faster than libp2p's module tree.
import { build } from 'esbuild'

await build({
  entryPoints: {
    cli: 'dist/src/launch/cli.js',
    'worker-process': 'dist/src/launch/worker-process.js',
    'embedded-host-thread': 'dist/src/launch/embedded-host-thread.js',
    'executor-thread': 'dist/src/runtime/executor-thread.js',
    index: 'dist/src/index.js'
  },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  // tsx finds its loader next to its own files: it must stay in node_modules.
  external: ['tsx', 'tsx/*'],
  // Some dependencies are CommonJS and call require(): give the bundle one.
  banner: { js: "import { createRequire as __scoopCreateRequire } from 'node:module'; const require = __scoopCreateRequire(import.meta.url);" }
})
