// The dashboard page: one self-contained HTML document (no external assets, so it works with no
// internet). It listens to /events and draws, with plain SVG: the peers as a graph with the
// broker marked, a task stream (which peer ran which function, when, for how long), tasks per
// second over time, run-time histograms per function, and the errors with their remote stacks.

export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>scoop-node dashboard</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2330; }
  header { padding: 10px 16px; background: #1d2330; color: #fff; display: flex; gap: 24px; align-items: baseline; }
  header h1 { font-size: 17px; margin: 0; }
  #summary span { margin-right: 18px; }
  main { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; padding: 12px; }
  section { background: #fff; border: 1px solid #dde1e7; border-radius: 6px; padding: 10px 12px; }
  section.wide { grid-column: 1 / 3; }
  h2 { font-size: 14px; margin: 0 0 8px; color: #4a5468; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  td, th { text-align: left; padding: 2px 8px 2px 0; font-size: 13px; }
  th { color: #6b7488; font-weight: 600; }
  svg { width: 100%; display: block; }
  .broker { fill: #d9480f; } .peer { fill: #1971c2; } .self { stroke: #1d2330; stroke-width: 2; }
  .bar { fill: #74c0fc; } .bar.failed { fill: #fa5252; }
  pre { white-space: pre-wrap; font-size: 12px; background: #fff5f5; padding: 6px; margin: 4px 0 10px; }
  .muted { color: #8a93a6; }
</style>
</head>
<body>
<header><h1>scoop-node</h1><div id="summary" class="muted">connecting…</div></header>
<main>
  <section><h2>Peers</h2><svg id="graph" viewBox="0 0 400 260" role="img" aria-label="peers of the mesh"></svg></section>
  <section><h2>Peer figures</h2><table id="peers"></table></section>
  <section class="wide"><h2>Task stream (last 30 s)</h2><svg id="stream" viewBox="0 0 800 160" preserveAspectRatio="none"></svg></section>
  <section><h2>Tasks per second (last 2 min)</h2><svg id="rate" viewBox="0 0 400 140" preserveAspectRatio="none"></svg></section>
  <section><h2>Run time per function</h2><div id="histograms" class="muted">no task finished yet</div></section>
  <section class="wide"><h2>Runs</h2><table id="runs"></table></section>
  <section class="wide"><h2>Errors</h2><div id="errors" class="muted">none</div></section>
</main>
<script>
const NS = 'http://www.w3.org/2000/svg'
const state = { view: null, tasks: [], rates: [], byFn: new Map(), errors: [], done: 0 }
const el = (id) => document.getElementById(id)
const esc = (s) => String(s).replace(/[&<>"]/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c])
const svg = (tag, attrs) => { const n = document.createElementNS(NS, tag); for (const k in attrs) n.setAttribute(k, attrs[k]); return n }
const fnName = (ref) => ref.replace(/^(export|builtin):/, '')

function drawGraph (view) {
  const g = el('graph'); g.replaceChildren()
  const peers = [...view.peers].sort((a, b) => a.startedAt - b.startedAt)
  const cx = 200, cy = 130, r = peers.length > 1 ? 95 : 0
  const pos = peers.map((p, i) => [cx + r * Math.cos(2 * Math.PI * i / peers.length - Math.PI / 2), cy + r * Math.sin(2 * Math.PI * i / peers.length - Math.PI / 2)])
  for (let i = 0; i < peers.length; i++) for (let j = i + 1; j < peers.length; j++) {
    g.append(svg('line', { x1: pos[i][0], y1: pos[i][1], x2: pos[j][0], y2: pos[j][1], stroke: '#ced4da' }))
  }
  peers.forEach((p, i) => {
    const isBroker = p.id === view.broker
    const node = svg('circle', { cx: pos[i][0], cy: pos[i][1], r: 10 + Math.min(10, p.running * 2), class: (isBroker ? 'broker' : 'peer') + (p.id === view.self ? ' self' : ''), 'data-peer': p.name })
    const title = svg('title', {}); title.textContent = p.name + (isBroker ? ' (broker)' : '') + ': ' + p.done + ' done'; node.append(title)
    const text = svg('text', { x: pos[i][0], y: pos[i][1] + 28, 'text-anchor': 'middle', 'font-size': 11 }); text.textContent = p.name + (isBroker ? ' ★' : '')
    g.append(node, text)
  })
}

function drawPeers (view) {
  const rows = [...view.peers].sort((a, b) => a.startedAt - b.startedAt).map(p =>
    '<tr data-peer="' + esc(p.name) + '"><td>' + esc(p.name) + (p.id === view.broker ? ' <b>broker</b>' : '') + '</td><td>' + p.load + '</td><td>' + p.running + '</td><td class="done">' + p.done + '</td><td>' + p.rate.toFixed(1) + '</td><td>' + p.given + '/' + p.taken + '</td><td>' + Math.round(p.cpu) + '%</td><td>' + p.rssMb + ' MB</td></tr>')
  el('peers').innerHTML = '<tr><th>peer</th><th>queued</th><th>running</th><th>done</th><th>tasks/s</th><th>given/taken</th><th>CPU</th><th>RSS</th></tr>' + rows.join('')
  el('runs').innerHTML = view.runs.length === 0 ? '<tr><td class="muted">no run under way</td></tr>'
    : '<tr><th>run</th><th>origin</th><th>peers</th><th>script</th></tr>' + view.runs.map(r => '<tr><td>' + esc(r.id) + '</td><td>' + esc(r.origin) + '</td><td>' + r.members + '</td><td>' + esc(r.script) + '</td></tr>').join('')
  const total = view.peers.reduce((n, p) => n + p.done, 0)
  const rate = view.peers.reduce((n, p) => n + p.rate, 0)
  const broker = view.peers.find(p => p.id === view.broker)
  el('summary').innerHTML = '<span id="peer-count">' + view.peers.length + ' peers</span><span>broker ' + esc(broker ? broker.name : '?') + ' (epoch ' + view.epoch + ')</span><span id="tasks-done">' + total + ' tasks done</span><span>' + rate.toFixed(1) + ' tasks/s</span>'
  state.rates.push([Date.now(), rate]); if (state.rates.length > 120) state.rates.shift()
}

function drawRate () {
  const g = el('rate'); g.replaceChildren()
  const max = Math.max(1, ...state.rates.map(r => r[1]))
  const now = Date.now()
  const pts = state.rates.map(([t, v]) => ((400 - (now - t) / 120000 * 400).toFixed(1)) + ',' + (135 - v / max * 125).toFixed(1))
  g.append(svg('polyline', { points: pts.join(' '), fill: 'none', stroke: '#1971c2', 'stroke-width': 2 }))
  const label = svg('text', { x: 4, y: 12, 'font-size': 11, fill: '#6b7488' }); label.textContent = 'max ' + max.toFixed(1) + '/s'; g.append(label)
}

function drawStream () {
  const g = el('stream'); g.replaceChildren()
  const now = Date.now(), span = 30000
  const peers = [...new Set(state.tasks.map(t => t.peer))].sort()
  const lane = 160 / Math.max(1, peers.length)
  peers.forEach((p, i) => { const t = svg('text', { x: 2, y: i * lane + 11, 'font-size': 10, fill: '#6b7488' }); t.textContent = p; g.append(t) })
  for (const t of state.tasks) {
    if (now - t.at > span) continue
    const x = 800 - (now - t.at + t.ms) / span * 800
    const w = Math.max(1, t.ms / span * 800)
    const bar = svg('rect', { x: x.toFixed(1), y: (peers.indexOf(t.peer) * lane + 13).toFixed(1), width: w.toFixed(1), height: Math.max(2, lane - 16).toFixed(1), class: t.ok ? 'bar' : 'bar failed' })
    const title = svg('title', {}); title.textContent = fnName(t.fn) + ' on ' + t.peer + ': ' + t.ms.toFixed(1) + ' ms' + (t.items > 1 ? ' (' + t.items + ' items)' : ''); bar.append(title)
    g.append(bar)
  }
}

function drawHistograms () {
  if (state.byFn.size === 0) return
  const parts = []
  for (const [fn, buckets] of state.byFn) {
    const max = Math.max(...buckets)
    const bars = buckets.map((n, i) => '<div title="' + (i === 0 ? '< 1' : '≥ ' + 2 ** (i - 1)) + ' ms: ' + n + '" style="display:inline-block;width:14px;margin-right:2px;background:#74c0fc;height:' + Math.round(n / max * 60) + 'px"></div>').join('')
    parts.push('<div data-fn="' + esc(fn) + '"><b>' + esc(fn) + '</b> <span class="muted">' + buckets.reduce((a, b) => a + b, 0) + ' tasks; buckets: &lt;1 ms, then doubling</span><div style="height:62px;display:flex;align-items:flex-end">' + bars + '</div></div>')
  }
  el('histograms').innerHTML = parts.join('')
  el('histograms').className = ''
}

function onTasks (batch) {
  for (const t of batch) {
    state.tasks.push(t)
    const fn = fnName(t.fn)
    const buckets = state.byFn.get(fn) || new Array(16).fill(0)
    buckets[Math.min(15, t.ms < 1 ? 0 : 1 + Math.floor(Math.log2(t.ms)))]++
    state.byFn.set(fn, buckets)
    if (!t.ok && t.error) { state.errors.push(t); if (state.errors.length > 20) state.errors.shift() }
  }
  const cutoff = Date.now() - 30000
  state.tasks = state.tasks.filter(t => t.at >= cutoff).slice(-5000)
  if (state.errors.length > 0) {
    el('errors').className = ''
    el('errors').innerHTML = state.errors.slice(-20).reverse().map(t => '<div><b>' + esc(t.error.name) + '</b>: ' + esc(t.error.message) + ' <span class="muted">(' + esc(fnName(t.fn)) + ' on ' + esc(t.peer) + ')</span><pre>' + esc(t.error.stack) + '</pre></div>').join('')
  }
  drawHistograms()
}

const events = new EventSource('events')
events.addEventListener('status', e => { state.view = JSON.parse(e.data); drawGraph(state.view); drawPeers(state.view); drawRate() })
events.addEventListener('tasks', e => { onTasks(JSON.parse(e.data)) })
events.onerror = () => { el('summary').textContent = 'disconnected: the run or the peer has ended' }
setInterval(drawStream, 500)
</script>
</body>
</html>
`
