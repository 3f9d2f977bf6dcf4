// Long-lived meshes as a user runs them: `scoop-node --listen/--join -n N` workers that serve
// many runs (one after another and at once, kept apart), a broker killed mid-map, a late
// joiner, swarm keys, and a worker that cannot find the run's script. Real processes on loopback.
import { strict as assert } from 'node:assert'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { run, fixture, CLI, type RunResult } from '../helpers/run.js'
import { LongLivedMesh } from '../helpers/mesh.js'

interface MeshRunReport { ok: boolean, tagsOk: boolean, laterOk: boolean, error: string, size: number, workers: string[], brokerBefore: string, brokerAfter: string }

/** The run's report; a failed run fails the test with its output and, given one, the mesh's log. */
const report = (r: RunResult, mesh?: LongLivedMesh): MeshRunReport => {
  assert.equal(r.code, 0, `the run failed (${r.signal ?? `exit code ${String(r.code)}`}):\n${r.stdout}\n${r.stderr}` +
    (mesh === undefined ? '' : `\nthe mesh's log:\n${mesh.stderr}`))
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '')
}

describe('long-lived mesh (--listen / --join)', function () {
  this.timeout(180_000)
  const dir = mkdtempSync(join(tmpdir(), 'scoop-mesh-'))
  const key = join(dir, 'mesh.key')
  const meshes: LongLivedMesh[] = []
  const startMesh = async (args: string[]): Promise<LongLivedMesh> => {
    const mesh = await LongLivedMesh.start(['--key', key, ...args])
    meshes.push(mesh)
    return mesh
  }
  const stopAll = async (): Promise<void> => {
    const left = (await Promise.all(meshes.splice(0).map(async m => await m.stop()))).flat()
    assert.deepEqual(left, [], `processes left behind: ${left.join(' ')}`)
  }
  const origin = async (address: string, args: string[], options: Parameters<typeof run>[1] = {}): Promise<RunResult> =>
    await run([CLI, '--key', key, '--join', address, ...args], { timeout: 120_000, ...options })

  before(async () => {
    const made = await run([CLI, 'keygen', key])
    assert.equal(made.code, 0, made.stderr)
    assert.equal(statSync(key).mode & 0o777, 0o600, 'the key file is readable by its owner only')
  })
  afterEach(stopAll)
  after(() => { rmSync(dir, { recursive: true, force: true }) })

  it('serves runs one after another and at the same time, each with its own constants and errors', async () => {
    const first = await startMesh(['--listen', '/ip4/127.0.0.1/tcp/0', '-n', '2'])
    const second = await startMesh(['--join', first.address!, '-n', '1'])
    await second.waitFor(() => second.workerPids.length === 1, 'the joiner\'s worker')
    const [alpha, beta] = await Promise.all([
      origin(first.address!, [fixture('meshRun.ts'), 'alpha', '4', '60', '20', 'fail']),
      origin(first.address!, [fixture('meshRun.ts'), 'beta', '4', '60', '20'])
    ])
    for (const [r, tag] of [[alpha, 'alpha'], [beta, 'beta']] as const) {
      const out = report(r, first)
      assert.ok(out.ok, `${tag}: every value right and in order`)
      assert.ok(out.tagsOk && out.laterOk, `${tag}: every task saw its own run's constants`)
      assert.equal(out.size, 4, `${tag}: three long-lived workers and the origin`)
      assert.ok(out.workers.length >= 2, `${tag}: the work spread: ${out.workers.join(' ')}`)
    }
    assert.equal(report(alpha).error, 'RangeError: failed in run alpha', 'an error reaches its own run')
    assert.equal(report(beta).error, '', 'and no other')
    const later = report(await origin(first.address!, [fixture('meshRun.ts'), 'gamma', '4', '30', '10']), first)
    assert.ok(later.ok && later.tagsOk, 'a later run on the same workers')
    const ours = [...first.workerPids, ...second.workerPids].map(pid => `${hostname()}:${pid}`)
    assert.ok(later.workers.some(w => ours.includes(w)), `the long-lived workers ran tasks: ${later.workers.join(' ')}`)

    // `scoop-node status` shows the mesh the runs used.
    const asJson = await run([CLI, 'status', '--key', key, '--json', first.address!])
    assert.equal(asJson.code, 0, asJson.stderr)
    const view = JSON.parse(asJson.stdout)
    assert.deepEqual(view.peers.map((p: { name: string }) => p.name).sort(), [...ours].sort(), 'the three long-lived workers (the origins have left)')
    assert.equal(view.peers.find((p: { id: string }) => p.id === view.broker)?.name, `${hostname()}:${first.workerPids[0]}`, 'the oldest worker is the broker')
    assert.ok(view.peers.some((p: { done: number }) => p.done > 0), 'tasks done are counted')
    for (const p of view.peers) {
      assert.ok(p.rssMb > 10 && p.cpu >= 0 && Number.isInteger(p.given) && Number.isInteger(p.taken) && Number.isInteger(p.running), `figures of ${String(p.name)}: ${JSON.stringify(p)}`)
    }
    assert.ok(view.peers.reduce((n: number, p: { given: number }) => n + p.given, 0) > 0, 'steals are counted')
    const asTable = await run([CLI, 'status', '--key', key, first.address!])
    assert.equal(asTable.code, 0, asTable.stderr)
    assert.match(asTable.stdout, /^3 peer\(s\) · broker \S+ \(epoch \d+\)/)
    assert.match(asTable.stdout, new RegExp(`${hostname()}:${first.workerPids[0]} \\(broker\\) \\*`))
  })

  it('loses nothing when the broker is killed mid-map: a new one takes over and the map completes', async () => {
    const mesh = await startMesh(['--listen', '/ip4/127.0.0.1/tcp/0', '-n', '3'])
    await mesh.waitFor(() => mesh.workerPids.length === 3, 'three workers')
    // The first worker is the oldest peer: the broker.
    const broker = mesh.workerPids[0]
    let killed = false
    const r = await origin(mesh.address!, ['--no-origin-tasks', fixture('meshRun.ts'), 'kill', '4', '120', '25'], {
      onStdout: text => {
        if (!killed && text.includes('MAPPING')) { killed = true; process.kill(broker, 'SIGKILL') }
      }
    })
    assert.ok(killed, 'the broker was killed mid-map')
    const out = report(r, mesh)
    assert.ok(out.ok && out.tagsOk, 'every value right, every task saw the constant')
    assert.ok(out.laterOk, 'a constant defined after the broker died is numbered by the new one and seen with the first')
    assert.equal(out.brokerBefore, `${hostname()}:${broker}`)
    assert.notEqual(out.brokerAfter, out.brokerBefore, 'another peer holds the broker role')
    await mesh.waitFor(() => /worker \d+ exited \(signal SIGKILL\).*restarting it/.test(mesh.stderr), 'the restart of the killed worker')
  })

  it('a worker stopped with SIGTERM mid-map hands back its queued tasks and finishes the running ones', async () => {
    const mesh = await startMesh(['--listen', '/ip4/127.0.0.1/tcp/0', '-n', '2'])
    await mesh.waitFor(() => mesh.workerPids.length === 2, 'two workers')
    const leaver = mesh.workerPids[1]
    let stopped = false
    const r = await origin(mesh.address!, ['--no-origin-tasks', fixture('meshRun.ts'), 'leave', '3', '120', '25'], {
      onStdout: text => {
        if (!stopped && text.includes('MAPPING')) { stopped = true; process.kill(leaver, 'SIGTERM') }
      }
    })
    assert.ok(stopped)
    const out = report(r, mesh)
    assert.ok(out.ok && out.tagsOk, 'every value right')
    await mesh.waitFor(() => new RegExp(`worker ${leaver} exited \\(exit code 0\\), having left the mesh`).test(mesh.stderr), 'the leaver\'s exit')
    assert.match(mesh.stderr, new RegExp(`worker ${hostname()}:${leaver}: left the mesh; \\d+ queued task\\(s\\) handed back to their owners, every running task finished`))
  })

  it('recycles a worker after --max-tasks-per-worker items: it leaves without losing work and a fresh one takes over', async () => {
    const mesh = await startMesh(['--listen', '/ip4/127.0.0.1/tcp/0', '-n', '2', '--max-tasks-per-worker', '60'])
    await mesh.waitFor(() => mesh.workerPids.length === 2, 'two workers')
    const out = report(await origin(mesh.address!, ['--no-origin-tasks', fixture('meshRun.ts'), 'recycle', '3', '400', '5']), mesh)
    assert.ok(out.ok && out.tagsOk && out.laterOk, 'every value right')
    // Limits are checked twice a second: the recycling may come as the run ends.
    await mesh.waitFor(() => /worker \d+ recycled; starting a fresh one/.test(mesh.stderr), 'a recycled worker')
    assert.match(mesh.stderr, /recycled after \d+ task item\(s\) \(--max-tasks-per-worker 60\): leaving for a fresh worker/)
    await mesh.waitFor(() => mesh.workerPids.length >= 3, 'a fresh worker')
    // The mesh, its address included (the first worker keeps it across restarts), serves the next run.
    const next = report(await origin(mesh.address!, ['--no-origin-tasks', fixture('meshRun.ts'), 'next', '2', '20', '1']), mesh)
    assert.ok(next.ok && next.tagsOk)
  })

  it('a worker whose task runs out of memory (--max-memory caps its heap) is reported, and replaced', async () => {
    const mesh = await startMesh(['--listen', '/ip4/127.0.0.1/tcp/0', '-n', '1', '--max-memory', '200'])
    const r = await origin(mesh.address!, ['--no-origin-tasks', fixture('hog.ts')])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop() ?? ''), { error: 'WorkerLostError' })
    const hogged = mesh.workerPids[0]
    await mesh.waitFor(() => new RegExp(`worker ${hogged} exited \\(exit code \\d+\\).*restarting it`).test(mesh.stderr), 'the restart of the worker')
    assert.match(mesh.stderr, /the executor of run \w+ ran out of memory \(its heap limit is 200 MB\); this worker exits/)
  })

  it('gives work to a peer that joins in the middle of a map', async () => {
    const mesh = await startMesh(['--listen', '/ip4/127.0.0.1/tcp/0', '-n', '1'])
    let late: Promise<LongLivedMesh> | undefined
    // The run maps batch after batch until a worker it did not start with has run tasks: however
    // slow the machine, the late joiner gets work, or the bounded run ends without it and fails.
    const r = await origin(mesh.address!, ['--no-origin-tasks', fixture('lateJoin.ts'), '20', '10'], {
      onStdout: text => { if (late == null && text.includes('MAPPING')) late = startMesh(['--join', mesh.address!, '-n', '1']) }
    })
    assert.ok(late != null, 'the late joiner was started mid-run')
    const joiner = await late
    assert.equal(r.code, 0, `the run failed:\n${r.stdout}\n${r.stderr}`)
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as { first: string[], late: string[] }
    assert.deepEqual(out.first, [`${hostname()}:${mesh.workerPids[0]}`], 'the first batches ran on the mesh\'s one worker')
    assert.deepEqual(out.late, [`${hostname()}:${joiner.workerPids[0]}`], 'the late joiner ran tasks')
  })

  it('keeps strangers out: no key, no start; a wrong key, no link', async () => {
    const mesh = await startMesh(['--listen', '/ip4/127.0.0.1/tcp/0', '-n', '1'])
    const keyless = await run([CLI, '--join', mesh.address!, '-n', '1'])
    assert.equal(keyless.code, 2)
    assert.match(keyless.stderr, /needs a swarm key/)
    assert.match(keyless.stderr, /scoop-node keygen/)
    const otherKey = join(dir, 'other.key')
    assert.equal((await run([CLI, 'keygen', otherKey])).code, 0)
    const stranger = await run([CLI, '--key', otherKey, '--join', mesh.address!, fixture('meshRun.ts'), 'x', '1', '1', '1'], { timeout: 60_000 })
    assert.equal(stranger.code, 2, stranger.stderr)
    assert.match(stranger.stderr, /could not reach peer/)
  })

  it('a worker whose bootstrap peer cannot be reached says so, stays up and keeps trying', async () => {
    const nobody = '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWLxkoEHErNeG46fHS2xWhNbpxVf8Y83rUgZNnzTyrgsxb'
    const mesh = await startMesh(['--join', nobody, '-n', '1', '--log-format', 'json'])
    await mesh.waitFor(() => mesh.stderr.includes(`could not reach peer ${nobody}`), 'the report of the unreachable peer')
    assert.match(mesh.stderr, /ECONNREFUSED.*; trying again every \d+ s/)
    // --log-format json: the supervisor's and the worker's messages are one JSON object per line.
    const lines = mesh.stderr.trim().split('\n').map(line => JSON.parse(line))
    assert.ok(lines.every(l => typeof l.time === 'string' && Number.isInteger(l.pid) && typeof l.message === 'string'))
    assert.ok(lines.some(l => l.pid === mesh.workerPids[0] && /could not reach peer/.test(l.message)), 'the worker\'s own message')
    assert.equal(mesh.child.exitCode, null, 'the supervisor is up')
    process.kill(mesh.workerPids[0], 0) // throws if the worker is gone
  })

  it('runs on without a worker that cannot find the script, and says why', async () => {
    const mesh = await startMesh(['--listen', '/ip4/127.0.0.1/tcp/0', '-n', '1'])
    const r = await origin(mesh.address!, ['--path', join(dir, 'nowhere'), 'test/fixtures/meshRun.ts', 'path', '1', '5', '1'])
    const out = report(r, mesh)
    assert.ok(out.ok)
    assert.match(r.stderr, new RegExp(`worker ${hostname()}:${mesh.workerPids[0]} does not take part in this run: cannot find the script ${join(dir, 'nowhere', 'test/fixtures/meshRun.ts')}`))
  })
})
