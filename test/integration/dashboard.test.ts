// The dashboard of a real run (`scoop-node --dashboard 0`): /metrics parses as Prometheus text,
// /events streams the mesh's status and finished tasks, and in Debian's chromium (headless,
// driven by playwright-core, no browser download) the page shows the peers and a task count
// that rises; its screenshot is kept in test-artifacts/. Without chromium the browser part is
// skipped, saying so.
import { strict as assert } from 'node:assert'
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { chromium } from 'playwright-core'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { CLI, ROOT, fixture, reapGroup, run as runCli } from '../helpers/run.js'
import { LongLivedMesh } from '../helpers/mesh.js'

const CHROMIUM = '/usr/bin/chromium'
const ARTIFACTS = join(ROOT, 'test-artifacts')

/** Reads an event stream until `done(text)` holds or 30 s pass; returns what it read. */
async function readEvents (url: string, done: (text: string) => boolean): Promise<string> {
  const controller = new AbortController()
  const res = await fetch(`${url}events`, { signal: controller.signal })
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/)
  const reader = res.body!.getReader()
  let text = ''
  const deadline = Date.now() + 30_000
  while (!done(text) && Date.now() < deadline) {
    const { value, done: ended } = await reader.read()
    if (ended) break
    text += new TextDecoder().decode(value)
  }
  controller.abort()
  return text
}

/** Ends a process group started here (SIGTERM, then SIGKILL after a bounded wait); returns what was left. */
async function endGroup (pid: number): Promise<number[]> {
  try { process.kill(-pid, 'SIGTERM') } catch {}
  return await reapGroup(pid, 10_000)
}

/** Reads a stream until `pattern` shows up (bounded), returning the match. */
async function waitForOutput (child: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
  let text = ''
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no ${String(pattern)} within ${timeoutMs} ms:\n${text}`)) }, timeoutMs)
    const onData = (d: Buffer): void => {
      text += d.toString()
      const m = pattern.exec(text)
      if (m != null) { clearTimeout(timer); child[stream]?.off('data', onData); resolve(m) }
    }
    child[stream]?.on('data', onData)
    child.once('exit', () => { clearTimeout(timer); reject(new Error(`exited before ${String(pattern)}:\n${text}`)) })
  })
}

describe('dashboard (--dashboard)', function () {
  this.timeout(120_000)
  let run: ChildProcess
  let url = ''
  /** What the run printed, its mesh's log included: shown when a test fails. */
  let output = ''

  before(async () => {
    run = spawn(process.execPath, [CLI, '-n', '2', '--dashboard', '0', fixture('dashboardRun.ts'), '2'], {
      cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBUG: 'scoop:host,scoop:launch,scoop:run,scoop:mesh' }
    })
    // (Only the end is ever shown: keep it bounded over a long run.)
    const keep = (d: Buffer): void => { output = (output + d.toString()).slice(-20_000) }
    run.stdout?.on('data', keep)
    run.stderr?.on('data', keep)
    const [, served] = await waitForOutput(run, 'stderr', /dashboard on (http:\/\/127\.0\.0\.1:\d+\/)/)
    url = served
    await waitForOutput(run, 'stdout', /READY/).catch((err: Error) => { throw new Error(`${err.message}\nthe run's output and log:\n${output}`) })
  })
  afterEach(function () {
    if (this.currentTest?.state === 'failed') process.stdout.write(`the run's output and log (its last 20 000 characters):\n${output}\n`)
  })
  after(async () => {
    assert.deepEqual(await endGroup(run.pid as number), [], 'no process left behind')
  })

  it('serves /metrics in Prometheus text format, one sample per peer', async () => {
    const res = await fetch(`${url}metrics`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
    const families = parsePrometheusTextFormat(await res.text())
    const byName = new Map(families.map(f => [f.name, f]))
    assert.equal(byName.get('scoop_peers')?.metrics[0].value, '2')
    const done = byName.get('scoop_tasks_done_total')
    assert.equal(done?.type, 'COUNTER')
    assert.equal(done?.metrics.length, 2, 'a sample per peer')
    assert.equal(byName.get('scoop_peer_is_broker')?.metrics.filter(m => m.value === '1').length, 1, 'one broker')
  })

  it('streams the status and finished tasks, errors included, as server-sent events', async () => {
    const text = await readEvents(url, read => /event: status/.test(read) && /"ok":false/.test(read))
    assert.match(text, /event: status\ndata: \{"self":/)
    assert.match(text, /event: tasks\ndata: \[\{"run":/)
    assert.match(text, /"fn":"export:work"/)
    assert.match(text, /"ok":false,"error":\{"name":"RangeError","message":"round \d+ fails on purpose","stack":"RangeError/)
  })

  it('draws the peers and a rising task count in a real browser (Debian chromium, headless)', async function () {
    if (!existsSync(CHROMIUM)) {
      process.stdout.write(`      (skipped: no ${CHROMIUM}; .ci/run and npm test install Debian's chromium as root)\n`)
      this.skip()
    }
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
    })
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
      await page.goto(url)
      await page.waitForFunction(() => document.getElementById('peer-count')?.textContent === '2 peers', undefined, { timeout: 30_000 })
      const count = async (): Promise<number> => Number((await page.textContent('#tasks-done'))?.split(' ')[0] ?? '0')
      const first = await count()
      await page.waitForFunction((before: number) => Number(document.getElementById('tasks-done')?.textContent?.split(' ')[0] ?? '0') > before, first, { timeout: 30_000 })
      assert.equal(await page.locator('#graph circle').count(), 2, 'two peers in the graph')
      assert.equal(await page.locator('#graph circle.broker').count(), 1, 'the broker is marked')
      await page.waitForSelector('#histograms [data-fn="work"]', { timeout: 30_000 })
      await page.waitForSelector('#errors pre', { timeout: 30_000 })
      assert.match(await page.textContent('#errors') ?? '', /RangeError: round \d+ fails on purpose/)
      await page.waitForSelector('#stream rect', { timeout: 30_000 })
      mkdirSync(ARTIFACTS, { recursive: true })
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true })
    } finally {
      await browser.close()
    }
  })

  it('scoop-node dashboard <multiaddr> shows a long-lived mesh, and the tasks its peers own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scoop-dashboard-'))
    const key = join(dir, 'mesh.key')
    assert.equal((await runCli([CLI, 'keygen', key])).code, 0)
    const mesh = await LongLivedMesh.start(['--key', key, '--listen', '/ip4/127.0.0.1/tcp/0', '-n', '2'])
    const origin = spawn(process.execPath, [CLI, '--key', key, '--join', mesh.address!, fixture('dashboardRun.ts'), '3'], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    const viewer = spawn(process.execPath, [CLI, 'dashboard', '--key', key, '--port', '0', mesh.address!], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    try {
      await waitForOutput(origin, 'stdout', /READY/)
      const [, meshUrl] = await waitForOutput(viewer, 'stdout', /on (http:\/\/127\.0\.0\.1:\d+\/)/)
      const families = parsePrometheusTextFormat(await (await fetch(`${meshUrl}metrics`)).text())
      assert.equal(families.find(f => f.name === 'scoop_peers')?.metrics[0].value, '3', 'two long-lived workers and the origin')
      // The origin owns the run's tasks: the viewer follows them from the origin, not only from the peer it asked.
      const text = await readEvents(meshUrl, read => /"fn":"export:work"/.test(read) && /"ok":false/.test(read))
      assert.match(text, /"fn":"export:work"/)
      assert.match(text, /"ok":false,"error":\{"name":"RangeError"/)
    } finally {
      const left = [...await endGroup(viewer.pid as number), ...await endGroup(origin.pid as number), ...await mesh.stop()]
      rmSync(dir, { recursive: true, force: true })
      assert.deepEqual(left, [], 'no process left behind')
    }
  })
})
