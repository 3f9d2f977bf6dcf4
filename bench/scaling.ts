// `npm run bench:scaling`: the cost of growth, from the simulator (the real scheduler on a
// modelled network): busy-worker fraction and messages per task of a flat map and of a nested
// tree for 16, 64, 256 and 1024 peers, each peer with about one second of 1 ms work. Prints a
// markdown table and writes docs/scaling.svg, and docs/scaling.png when Debian's chromium is
// there to render it (playwright-core, no browser download).

import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defaultOptions, runSimulation, type WorkloadReport } from '../src/sim/scenarios.js'

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..')
const PEERS = [16, 64, 256, 1024]
const CHROMIUM = '/usr/bin/chromium'

interface Point { peers: number, map: WorkloadReport, tree: WorkloadReport, depth: number }

function measure (peers: number): Point {
  // About 1 000 items (1 s of work) per peer for the map, and 1 024 leaves per peer for the tree.
  const depth = Math.round(Math.log2(peers)) + 10
  const report = runSimulation({ ...defaultOptions, peers, tasks: 1000 * peers, treeDepth: depth, run: { election: false, map: true, tree: true } })
  if (report.flatMap === null || report.tree === null) throw new Error('the simulator ran no workload')
  return { peers, map: report.flatMap, tree: report.tree, depth }
}

const pct = (x: number | null): string => x === null ? 'n/a' : `${(100 * x).toFixed(1)} %`

function svgChart (points: Point[]): string {
  const [w, h, left, bottom] = [720, 360, 60, 40]
  const x = (i: number): number => left + i * (w - left - 20) / (points.length - 1)
  const yBusy = (f: number): number => 20 + (1 - f) * (h - bottom - 20)
  const maxMsgs = Math.max(...points.flatMap(p => [p.map.messagesPerTask, p.tree.messagesPerTask])) * 1.1
  const yMsgs = (m: number): number => 20 + (1 - m / maxMsgs) * (h - bottom - 20)
  const line = (ys: number[], color: string, dash = ''): string =>
    `<polyline fill="none" stroke="${color}" stroke-width="2.5" ${dash !== '' ? `stroke-dasharray="${dash}"` : ''} points="${ys.map((y, i) => `${x(i).toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>` +
    ys.map((y, i) => `<circle cx="${x(i).toFixed(1)}" cy="${y.toFixed(1)}" r="4" fill="${color}"/>`).join('')
  const ticks = [0, 0.25, 0.5, 0.75, 1].map(f => `<text x="${left - 8}" y="${yBusy(f) + 4}" text-anchor="end" font-size="12">${f * 100}%</text><line x1="${left}" x2="${w - 20}" y1="${yBusy(f)}" y2="${yBusy(f)}" stroke="#e9ecef"/>`).join('')
  const labels = points.map((p, i) => `<text x="${x(i)}" y="${h - bottom + 20}" text-anchor="middle" font-size="12">${p.peers} peers</text>`).join('')
  const legend = [['#1971c2', '', 'flat map: busy workers'], ['#2f9e44', '', 'tree: busy workers'], ['#1971c2', '6 4', 'flat map: messages/task (right axis)'], ['#2f9e44', '6 4', 'tree: messages/task (right axis)']]
    .map(([color, dash, text], k) => `<line x1="${left + 10}" x2="${left + 40}" y1="${h + 12 + k * 18}" y2="${h + 12 + k * 18}" stroke="${color}" stroke-width="2.5" ${dash !== '' ? `stroke-dasharray="${dash}"` : ''}/><text x="${left + 48}" y="${h + 16 + k * 18}" font-size="12">${text}</text>`).join('')
  const rightTicks = [0, 0.5, 1].map(f => `<text x="${w - 14}" y="${yMsgs(f * maxMsgs) + 4}" font-size="12">${(f * maxMsgs).toFixed(1)}</text>`).join('')
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w + 30}" height="${h + 90}" font-family="sans-serif" style="background:#fff">` +
    `<text x="${left}" y="14" font-size="13" font-weight="bold">scoop-node simulator: cost of growth (1 ms tasks, ~1 s of work per peer, seed 1)</text>` +
    ticks + labels + rightTicks +
    line(points.map(p => yBusy(p.map.busyFraction ?? 0)), '#1971c2') + line(points.map(p => yBusy(p.tree.busyFraction ?? 0)), '#2f9e44') +
    line(points.map(p => yMsgs(p.map.messagesPerTask)), '#1971c2', '6 4') + line(points.map(p => yMsgs(p.tree.messagesPerTask)), '#2f9e44', '6 4') +
    legend + '</svg>'
}

async function renderPng (svg: string, path: string): Promise<boolean> {
  if (!existsSync(CHROMIUM)) return false
  const { chromium } = await import('playwright-core')
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] })
  try {
    const page = await browser.newPage({ viewport: { width: 760, height: 460 } })
    await page.setContent(`<html><body style="margin:0">${svg}</body></html>`)
    await page.locator('svg').screenshot({ path })
    return true
  } finally {
    await browser.close()
  }
}

const points: Point[] = []
for (const peers of PEERS) {
  const started = Date.now()
  points.push(measure(peers))
  process.stderr.write(`  ${peers} peers simulated in ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
}
console.log('| peers | flat map: items | busy | messages/task | tree: depth | busy | messages/task |')
console.log('| --- | --- | --- | --- | --- | --- | --- |')
for (const p of points) {
  console.log(`| ${p.peers} | ${p.map.items} | ${pct(p.map.busyFraction)} | ${p.map.messagesPerTask.toFixed(2)} | ${p.depth} | ${pct(p.tree.busyFraction)} | ${p.tree.messagesPerTask.toFixed(2)} |`)
}
const svg = svgChart(points)
writeFileSync(join(ROOT, 'docs', 'scaling.svg'), svg)
const png = await renderPng(svg, join(ROOT, 'docs', 'scaling.png'))
process.stderr.write(`wrote docs/scaling.svg${png ? ' and docs/scaling.png' : ` (no PNG: ${CHROMIUM} is not installed)`}\n`)
