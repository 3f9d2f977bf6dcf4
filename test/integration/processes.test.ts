// The launcher and the embedded default as a user runs them: exit codes, errors, examples,
// no process left behind (also when the origin is SIGKILLed), long tasks keep their peer.
import { strict as assert } from 'node:assert'
import { run, runWith, scoop, fixture, example, processGroupMembers, reapGroup, CLI, ROOT, type RunResult } from '../helpers/run.js'
import { join } from 'node:path'
import { hostname, tmpdir } from 'node:os'
import { execFileSync, spawn } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import '../../src/polyfill.js'
import { MeshNode, newSwarmKey } from '../../src/mesh/node.js'

const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs')

const clean = (r: RunResult): void => {
  assert.deepEqual(r.leftovers, [], `processes left behind: ${r.leftovers.join(' ')}`)
}

describe('launcher', function () {
  it('exits with the script\'s exit code and leaves no process', async () => {
    const ok = await scoop(2, fixture('exit.ts'), ['ok'])
    assert.equal(ok.code, 0, ok.stderr)
    assert.match(ok.stdout, /\[ 2, 4 \]/)
    clean(ok)
    const three = await scoop(2, fixture('exit.ts'), ['exit3'])
    assert.equal(three.code, 3)
    clean(three)
  })

  it('exits non-zero with the stack when the script throws or leaves a rejection unhandled', async () => {
    const thrown = await scoop(2, fixture('exit.ts'), ['throw'])
    assert.equal(thrown.code, 1)
    assert.match(thrown.stderr, /the script failed on purpose/)
    assert.match(thrown.stderr, /exit\.ts/)
    clean(thrown)
    const rejected = await scoop(2, fixture('exit.ts'), ['reject'])
    assert.notEqual(rejected.code, 0)
    assert.match(rejected.stderr, /unhandled rejection on purpose/)
    clean(rejected)
  })

  it('says to guard the main part with scoop.isOrigin when the script submits tasks as it is imported', async () => {
    const r = await scoop(1, fixture('unguarded.mjs'), [])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /futures\.map was called while the script was imported for its exported functions .*put its main part under `if \(scoop\.isOrigin\)/)
    clean(r)
  })

  it('ends every worker when the origin is killed with SIGKILL', async () => {
    let origin = 0
    const r = await run([CLI, '-n', '3', fixture('hang.ts'), '3'], {
      timeout: 60_000,
      onStdout: (text, pid) => { if (text.includes('READY')) { origin = pid; process.kill(pid, 'SIGKILL') } }
    })
    assert.ok(origin > 0, `never got READY: ${r.stderr}`)
    assert.equal(r.signal, 'SIGKILL')
    clean(r)
  })

  it('-v with --log writes launcher messages to the file; --nice sets the workers\' niceness; SIGTERM ends the run', async () => {
    const logFile = join(tmpdir(), `scoop-node-test-${process.pid}.log`)
    rmSync(logFile, { force: true })
    let niceness: number[] = []
    const r = await run([CLI, '-n', '3', '-v', '--log', logFile, '--nice', '7', fixture('hang.ts'), '3'], {
      timeout: 60_000,
      onStdout: (text, pid) => {
        if (!text.includes('READY')) return
        const workers = processGroupMembers(pid).filter(p => p !== pid)
        niceness = workers.map(p => Number(execFileSync('ps', ['-o', 'ni=', '-p', String(p)], { encoding: 'utf8' }).trim()))
        process.kill(pid, 'SIGTERM')
      }
    })
    assert.deepEqual(niceness, [7, 7])
    assert.equal(r.code, 143)
    const log = readFileSync(logFile, 'utf8')
    rmSync(logFile, { force: true })
    assert.match(log, /origin .* listening on \/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\w+; starting 2 worker process/)
    assert.doesNotMatch(r.stderr, /listening on/, 'with --log, launcher messages leave stderr alone')
    clean(r)
  })

  it('runs the launcher (as a command) and its worker processes with one V8 background thread, unless NODE_OPTIONS says otherwise', async () => {
    const args = ['-n', '2', '--no-origin-tasks', fixture('nodeOptions.ts')]
    // Run as `npx scoop-node` runs it: the file itself, its #! line starting node.
    const r = await runWith(CLI, args)
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '')
    assert.deepEqual(out.origin, ['--v8-pool-size=1'])
    assert.deepEqual(out.worker, { origin: false, execArgv: ['--v8-pool-size=1'] })
    clean(r)
    const own = await runWith(CLI, args, { env: { NODE_OPTIONS: '--v8-pool-size=3' } })
    assert.equal(own.code, 0, own.stderr)
    assert.deepEqual(JSON.parse(own.stdout.trim().split('\n').pop() ?? '').worker, { origin: false, execArgv: [] })
    clean(own)
  })

  it('ends quietly, workers included, when the reader of its output goes away (`| head -1`)', async () => {
    const child = spawn(process.execPath, [CLI, '-n', '2', fixture('printsMany.mjs')], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    const pid = child.pid as number
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.stdout.once('data', () => { child.stdout.destroy() })
    const timer = setTimeout(() => { try { process.kill(-pid, 'SIGKILL') } catch {} }, 60_000)
    const code = await new Promise<number | null>(resolve => { child.on('close', c => { resolve(c) }) })
    clearTimeout(timer)
    const leftovers = await reapGroup(pid, 5000)
    assert.equal(code, 128 + 13, `exit code ${code} (a writer killed by SIGPIPE: 141); stderr: ${stderr}`)
    assert.doesNotMatch(stderr, /EPIPE|Unhandled|at /, 'no stack trace')
    assert.deepEqual(leftovers, [])
  })

  it('runs a private mesh: a peer without the run\'s key cannot connect to its origin', async () => {
    const logFile = join(tmpdir(), `scoop-node-key-${process.pid}.log`)
    rmSync(logFile, { force: true })
    let outcome: Promise<string[]> | undefined
    const r = await run([CLI, '-n', '2', '-v', '--log', logFile, fixture('hang.ts'), '2'], {
      timeout: 60_000,
      onStdout: (text, pid) => {
        if (!text.includes('READY')) return
        const address = /listening on (\S+?)[;,]/.exec(readFileSync(logFile, 'utf8'))?.[1] ?? ''
        const tryDial = async (swarmKey?: Uint8Array): Promise<string> => {
          const node = await MeshNode.create({ swarmKey }, { onPeerConnected: () => {}, onPeerDisconnected: () => {}, onGossip: () => {}, onMessages: () => {} })
          try {
            await node.dial(address, { signal: AbortSignal.timeout(3000) })
            return 'connected'
          } catch {
            return 'refused'
          } finally {
            await node.stop()
          }
        }
        outcome = Promise.all([tryDial(), tryDial(newSwarmKey())]).finally(() => { process.kill(pid, 'SIGTERM') })
      }
    })
    rmSync(logFile, { force: true })
    assert.ok(outcome, `never got READY: ${r.stderr}`)
    assert.deepEqual(await outcome, ['refused', 'refused'])
    clean(r)
  })

  it('a worker killed with SIGKILL mid-map: its tasks are re-queued and the map returns every result', async () => {
    let killed = 0
    const r = await run([CLI, '-n', '3', fixture('killWorker.ts'), '3'], {
      timeout: 90_000,
      onStdout: (text, pid) => {
        if (!text.includes('MAPPING') || killed !== 0) return
        killed = processGroupMembers(pid).filter(p => p !== pid)[0] ?? -1
        if (killed > 0) process.kill(killed, 'SIGKILL')
      }
    })
    assert.ok(killed > 0, `no worker to kill: ${r.stdout} ${r.stderr}`)
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop() ?? ''), { ok: true, size: 2 })
    assert.match(r.stderr, new RegExp(`worker process ${killed} exited unexpectedly \\(signal SIGKILL\\)`))
    clean(r)
  })

  it('a worker killed with SIGKILL mid-tree: its tasks, parents included, run again and the tree counts every node once', async () => {
    let origin = 0
    let killed = 0
    const r = await run([CLI, '-n', '3', fixture('treeKill.ts'), '3', '7'], {
      timeout: 90_000,
      onStdout: text => {
        origin ||= Number(/ORIGIN (\d+)/.exec(text)?.[1] ?? 0)
        if (killed !== 0 || origin === 0) return
        const leafOfWorker = [...text.matchAll(/LEAF (\d+)/g)].map(m => Number(m[1])).find(pid => pid !== origin)
        if (leafOfWorker !== undefined) { killed = leafOfWorker; process.kill(killed, 'SIGKILL') }
      }
    })
    assert.ok(killed > 0, `no worker ran a leaf: ${r.stderr}`)
    assert.equal(r.code, 0, r.stderr)
    // A worker's LEAF line may come after the origin's report: both write to the same pipe.
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').filter(line => line.startsWith('{')).pop() ?? ''), { nodes: 255, expected: 255 })
    assert.match(r.stderr, new RegExp(`worker process ${killed} exited unexpectedly \\(signal SIGKILL\\)`))
    clean(r)
  })

  it('a task submitted with { retries: 0 } is not run again when its worker dies: WorkerLostError names the worker', async () => {
    let killed = 0
    const r = await run([CLI, '-n', '3', '--no-origin-tasks', fixture('noRetry.ts'), '3'], {
      timeout: 90_000,
      onStdout: text => {
        const m = /HOLDING (\d+)/.exec(text)
        if (m != null && killed === 0) { killed = Number(m[1]); process.kill(killed, 'SIGKILL') }
      }
    })
    assert.ok(killed > 0, `the task never ran: ${r.stdout} ${r.stderr}`)
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '')
    assert.equal(out.badOption, 'InvalidArgumentError')
    assert.equal(out.error?.name, 'WorkerLostError')
    assert.match(out.error?.message, new RegExp(`the worker ${hostname()}:${killed} was lost while it held this task.*\\{ retries: 0 \\}`))
    assert.equal((r.stdout.match(/HOLDING/g) ?? []).length, 1, 'the task ran once, not again')
    assert.deepEqual(out.again, [1, 4, 9], 'the run goes on')
    clean(r)
  })

  it('a task that kills its workers is quarantined after 3 of them, and the run goes on', async () => {
    const r = await run([CLI, '-n', '5', '--no-origin-tasks', fixture('killerTask.ts'), '5'], { timeout: 120_000 })
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '')
    assert.equal(out.error, 'TaskQuarantinedError')
    assert.match(out.message, /3 workers died while holding it/)
    assert.deepEqual(out.after, [1, 4, 9])
    assert.equal(out.size, 2)
    assert.equal((r.stderr.match(/exited unexpectedly \(exit code 7\)/g) ?? []).length, 3, r.stderr)
    clean(r)
  })

  it('explains a missing script and bad options', async () => {
    const missing = await run([CLI, 'no/such/script.ts'])
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /cannot find the script 'no\/such\/script\.ts'/)
    const badN = await run([CLI, '-n', 'zero', fixture('exit.ts')])
    assert.notEqual(badN.code, 0)
    assert.match(badN.stderr, /-n must be a positive integer/)
    const help = await run([CLI, '--help'])
    assert.equal(help.code, 0)
    for (const option of ['-n, --workers', '--verbose', '--log', '--nice', '--debug']) assert.ok(help.stdout.includes(option), option)
  })

  it('a task computing for 17 s does not cut its worker off the mesh', async function () {
    this.timeout(120_000)
    const r = await scoop(2, fixture('longTask.ts'), ['17000'], { timeout: 100_000 })
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop() ?? ''), { distinct: 2, size: 2, after: 3 })
    clean(r)
  })
})

describe('examples', function () {
  it('mapDoc (hello world map)', async () => {
    const r = await scoop(2, example('mapDoc.ts'))
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^3 2 1 0 1$/m)
    assert.equal((r.stdout.match(/Hello World from Future #\d/g) ?? []).length, 4)
    clean(r)
  })
  it('piCalc', async () => {
    const r = await scoop(2, example('piCalc.ts'), ['200', '20000'])
    assert.equal(r.code, 0, r.stderr)
    assert.ok(Math.abs(Number(r.stdout.trim()) - Math.PI) < 0.05, r.stdout)
    clean(r)
  })
  it('fullTree: a depth-12 tree of tasks waiting for their children, on 2 workers', async () => {
    const r = await scoop(2, example('fullTree.ts'), ['12'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /depth 12: 8191 tasks \(expected 8191\)/)
    assert.match(r.stdout, /mixed tree of depth 6: 120/)
    clean(r)
  })
  it('mapReduce', async () => {
    const r = await scoop(2, example('mapReduce.ts'))
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.stdout.trim().split('\n'), ['the: 5, and: 2, dog: 2', '12345'])
    clean(r)
  })
  it('bruteForce (shared constant, stops early)', async () => {
    const r = await scoop(2, example('bruteForce.ts'), ['node'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /found 'node' after \d+ of 676 slices/)
    clean(r)
  })
  it('submitAsCompleted, plain JavaScript, on the launcher', async () => {
    const r = await scoop(3, example('submitAsCompleted.mjs'))
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.stdout.trim().split('\n').map(l => l.slice(0, 5)), ['job 3', 'job 1', 'job 4', 'job 2', 'job 0'])
    clean(r)
  })
})

describe('embedded default (no launcher)', function () {
  it('`node script.mjs` starts a local mesh on the first futures call and tears it down at exit', async () => {
    const r = await run([example('submitAsCompleted.mjs')], { env: { SCOOP_WORKERS: '2' } })
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout.trim().split('\n').length, 5)
    clean(r)
  })
  it('`tsx script.ts` runs TypeScript the same way', async () => {
    const r = await run([TSX, example('mapDoc.ts')], { env: { SCOOP_WORKERS: '2' } })
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^3 2 1 0 1$/m)
    clean(r)
  })
  it('a script that throws still exits non-zero and leaves nothing', async () => {
    const r = await run([TSX, fixture('exit.ts'), 'throw'], { env: { SCOOP_WORKERS: '2' } })
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /the script failed on purpose/)
    clean(r)
  })
})
