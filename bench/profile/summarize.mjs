// Summarizes V8 .cpuprofile files (node --cpu-prof): self time by layer (scoop-node, libp2p's
// stack, cbor-x, Node, native; bundled frames are mapped back through their source maps), by
// package and by function, per file.
//   node bench/profile/summarize.mjs DIR_OR_FILES... [--top 25]
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { SourceMap } from 'node:module'
import { fileURLToPath } from 'node:url'

const { values: opts, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, callers: { type: 'string' } } })
const files = positionals.flatMap(p => statSync(p).isDirectory() ? readdirSync(p).filter(f => f.endsWith('.cpuprofile')).map(f => join(p, f)) : [p])

/** The source maps of bundled files (dist/bundle/*.js.map), by the bundle's URL. */
const sourceMaps = new Map()
function sourceMapOf (url) {
  if (!sourceMaps.has(url)) {
    let map
    try { map = new SourceMap(JSON.parse(readFileSync(`${fileURLToPath(url)}.map`, 'utf8'))) } catch { map = undefined }
    sourceMaps.set(url, map)
  }
  return sourceMaps.get(url)
}

/** The original file of a frame of a bundle (through its source map), else the frame's own URL. */
function originalUrlOf ({ url, lineNumber, columnNumber }) {
  if (!url.includes('/dist/bundle/')) return url
  const entry = sourceMapOf(url)?.findEntry(lineNumber, columnNumber)
  return entry?.originalSource ?? url
}

/**
 * Which layer a frame belongs to: scoop-node's own code, cbor-x (its codec), the libp2p stack
 * (libp2p, its modules and every package they bring: noise, yamux, pnet, gossipsub, multiformats,
 * it-*, uint8arraylist, the noble and chainsafe ciphers...), Node's own JavaScript, or V8/native.
 */
function layerOf (callFrame) {
  const url = originalUrlOf(callFrame)
  if (url.includes('/dist/bundle/')) return 'a bundle whose source map is gone (rebuilt since)'
  if (['(idle)', '(garbage collector)', '(program)'].includes(callFrame.functionName) && url === '') return callFrame.functionName
  if (url === '') return 'native (V8, libuv, postMessage...)'
  if (url.startsWith('node:') || !url.includes('/')) return 'Node.js internals'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1]
  if (pkg === undefined) return 'scoop-node'
  if (pkg === 'cbor-x') return 'cbor-x'
  if (['tsx', 'cli-progress', 'commander'].includes(pkg)) return pkg
  return 'libp2p stack'
}

/** Where a script lives, short: the npm package, or the file under dist/. */
function placeOf (url) {
  if (url === '') return '(native)'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg != null) return pkg[1]
  const dist = /dist\/(.*)$/.exec(url)
  if (dist != null) return dist[1]
  return url.replace(/^.*\//, '')
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8'))
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const selfUs = new Map()
  // timeDeltas[i] is the time before sample i: attribute it to that sample's node.
  for (let i = 0; i < profile.samples.length; i++) {
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
  const total = profile.endTime - profile.startTime
  const byFunction = new Map()
  const byPlace = new Map()
  const byLayer = new Map()
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id)
    const place = placeOf(callFrame.url)
    const fn = `${callFrame.functionName || '(anonymous)'} ${place}:${callFrame.lineNumber + 1}`
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us)
    byPlace.set(place, (byPlace.get(place) ?? 0) + us)
    const layer = layerOf(callFrame)
    byLayer.set(layer, (byLayer.get(layer) ?? 0) + us)
  }
  const top = Number(opts.top)
  const line = ([name, us]) => `  ${(us / 1000).toFixed(1).padStart(9)} ms ${(100 * us / total).toFixed(1).padStart(5)} %  ${name}`
  console.log(`\n${file}: ${(total / 1000).toFixed(0)} ms profiled`)
  const busy = total - (byLayer.get('(idle)') ?? 0)
  console.log(` by layer (share of the ${(busy / 1000).toFixed(0)} ms not idle):`)
  for (const [name, us] of [...byLayer].sort((a, b) => b[1] - a[1])) {
    if (name !== '(idle)') console.log(`  ${(us / 1000).toFixed(1).padStart(9)} ms ${(100 * us / busy).toFixed(1).padStart(5)} %  ${name}`)
  }
  console.log(' by package/file:')
  for (const e of [...byPlace].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(line(e))
  console.log(' by function:')
  for (const e of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(line(e))
  if (opts.callers !== undefined) {
    // Self time of the named function, by its call path (5 frames up).
    const parentOf = new Map()
    for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n)
    const paths = new Map()
    for (const [id, us] of selfUs) {
      let node = byId.get(id)
      if (node.callFrame.functionName !== opts.callers) continue
      const path = []
      for (let k = 0; k < 6 && node != null; k++, node = parentOf.get(node.id)) path.push(`${node.callFrame.functionName || '(anonymous)'}:${node.callFrame.lineNumber + 1}`)
      paths.set(path.join(' < '), (paths.get(path.join(' < ')) ?? 0) + us)
    }
    console.log(` callers of ${opts.callers}:`)
    for (const e of [...paths].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(line(e))
  }
}
