// The launcher's host options as a user gives them, on this machine alone (no root, no sshd):
// a hostfile and a Slurm allocation that name only this machine, the errors of bad host
// options, and what the launcher hands ssh, seen through a stand-in ssh that records its
// arguments and its stdin. The real ssh start across hosts is cluster.test.ts (root).
import { strict as assert } from 'node:assert'
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CLI, ROOT, example, fixture, run, runWith, type RunResult } from '../helpers/run.js'
import type { AgentOrders } from '../../src/launch/remote-protocol.js'

const clean = (r: RunResult): void => { assert.deepEqual(r.leftovers, [], `processes left behind: ${r.leftovers.join(' ')}`) }
const resultOf = (r: RunResult): { ok: boolean, size: number } | null => JSON.parse(r.stdout.trim().split('\n').filter(l => l.startsWith('{')).at(-1) ?? 'null')

describe('launcher: host lists on this machine', function () {
  this.timeout(120_000)
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'scoop-hosts-')) })
  afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

  /** A stand-in for ssh: records its arguments and the orders it reads, then fails as an unreachable host does. */
  function recordingSsh (): string {
    const path = join(dir, 'ssh')
    writeFileSync(path, [
      '#!/bin/sh',
      `out=${dir}/call.$$`,
      // NUL-separated: the remote command spans lines.
      'printf "%s\\0" "$@" > "$out.args"',
      'head -n 1 > "$out.orders"',
      'host=""; skip=""',
      'for a; do if [ -n "$skip" ]; then skip=""; continue; fi; case "$a" in -o|-R) skip=1 ;; -*) ;; *) host="$a"; break ;; esac; done',
      'echo "ssh: Could not resolve hostname $host: Name or service not known" >&2',
      'exit 255',
      ''
    ].join('\n'))
    chmodSync(path, 0o755)
    return path
  }

  it('--hostfile naming this machine runs its workers here, with comments, blank lines and a count', async () => {
    const hostfile = join(dir, 'hosts')
    writeFileSync(hostfile, '# this machine only\n\nlocalhost 2   # two workers\n')
    const r = await run([CLI, '-v', '--hostfile', hostfile, fixture('clusterRun.ts'), '2', '40', '1'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /hosts from --hostfile: localhost \(2\)/)
    assert.deepEqual(resultOf(r), { ok: true, size: 2, perHost: { none: 40 } })
    clean(r)
  })

  it('inside a Slurm allocation the hosts come from SLURM_JOB_NODELIST and SLURM_TASKS_PER_NODE; -n trims them', async () => {
    const r = await run([CLI, '-v', '-n', '2', fixture('clusterRun.ts'), '2', '40', '1'],
      { env: { SLURM_JOB_NODELIST: 'localhost', SLURM_TASKS_PER_NODE: '3' } })
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /hosts from slurm: localhost \(2\)/)
    assert.equal(resultOf(r)?.size, 2)
    clean(r)
  })

  it('starts each remote host with one ssh connection in BatchMode; the orders (with the run\'s key) go on stdin, never on the command line', async () => {
    const ssh = recordingSsh()
    const r = await run([CLI, '--ssh-executable', ssh, '--broker-hostname', '127.0.0.1', '--env', 'SCOOP_TEST_VAR=a b', '--prolog', '/opt/site/prolog.sh',
      '--hosts', 'localhost', 'nodeB', 'nodeB', 'nodeC', fixture('clusterRun.ts'), '1', '20', '1'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(resultOf(r)?.ok, true, 'the run went on with the origin alone')
    const calls = readdirSync(dir).filter(f => f.endsWith('.args')).map(f => ({
      args: readFileSync(join(dir, f), 'utf8').split('\0').slice(0, -1),
      orders: JSON.parse(readFileSync(join(dir, f.replace('.args', '.orders')), 'utf8')) as AgentOrders
    }))
    assert.equal(calls.length, 2, 'one ssh per remote host')
    const byHost = new Map(calls.map(call => [call.args.find(a => a === 'nodeB' || a === 'nodeC'), call]))
    assert.deepEqual([...byHost.keys()].sort(), ['nodeB', 'nodeC'])
    assert.equal(byHost.get('nodeB')?.orders.workers, 2)
    assert.equal(byHost.get('nodeC')?.orders.workers, 1)
    for (const { args, orders } of calls) {
      assert.ok(args.includes('BatchMode=yes'), `never a prompt: ${args.join(' ')}`)
      const command = args.at(-1) ?? ''
      assert.match(command, /prolog\.sh/)
      assert.match(command, /SCOOP_TEST_VAR='\\''a b'\\''/, 'quoted for sh, inside the quoted command')
      assert.match(command, /remote-agent\.js/)
      assert.match(orders.config.bootstrap[0], /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//, 'the workers dial the --broker-hostname address')
      assert.ok(orders.config.swarmKey !== undefined && orders.config.swarmKey.length > 0)
      assert.ok(!args.join(' ').includes(orders.config.swarmKey), 'the key is not on the command line')
    }
    assert.match(r.stderr, /host nodeC: could not start its 1 worker\(s\): ssh: Could not resolve hostname nodeC: Name or service not known \(ssh exit code 255\)/)
    assert.match(r.stderr, /the run goes on with 0 of 2 remote host\(s\)/)
    clean(r)
  })

  it('--require-all stops before the script runs when a host fails; so does a run whose every host failed and whose origin runs no tasks', async () => {
    const ssh = recordingSsh()
    const all = await run([CLI, '--require-all', '--ssh-executable', ssh, '--broker-hostname', '127.0.0.1', '--hosts', 'localhost', 'nodeB', fixture('clusterRun.ts'), '1', '20', '1'])
    assert.equal(all.code, 1, all.stderr)
    assert.match(all.stderr, /host nodeB: could not start its 1 worker\(s\): ssh: Could not resolve hostname nodeB/)
    assert.match(all.stderr, /1 of 1 remote host\(s\) did not start, and --require-all asks for every one/)
    assert.equal(resultOf(all), null)
    clean(all)
    const none = await run([CLI, '--ssh-executable', ssh, '--broker-hostname', '127.0.0.1', '--hosts', 'nodeB', fixture('clusterRun.ts'), '1', '20', '1'])
    assert.equal(none.code, 1, none.stderr)
    assert.match(none.stderr, /no remote host started, and no other worker can run the tasks/)
    clean(none)
  })

  it('each submit script in examples/submitFiles runs piCalc on its scheduler\'s allocation (faked here: this machine, 2 slots)', async () => {
    writeFileSync(join(dir, 'pbs_nodefile'), 'localhost\nlocalhost\n')
    writeFileSync(join(dir, 'pe_hostfile'), 'localhost 2 all.q@localhost UNDEFINED\n')
    const allocations: Array<[string, string, Record<string, string>]> = [
      ['slurm.sh', 'slurm', { SLURM_JOB_NODELIST: 'localhost', SLURM_TASKS_PER_NODE: '2', SLURM_SUBMIT_DIR: ROOT }],
      ['pbs.sh', 'pbs', { PBS_NODEFILE: join(dir, 'pbs_nodefile'), PBS_O_WORKDIR: ROOT }],
      ['sge.sh', 'sge', { PE_HOSTFILE: join(dir, 'pe_hostfile'), SGE_O_WORKDIR: ROOT }],
      ['lsf.sh', 'lsf', { LSB_MCPU_HOSTS: 'localhost 2', LS_SUBCWD: ROOT }]
    ]
    for (const [script, scheduler, env] of allocations) {
      const r = await runWith('/bin/bash', [example(`submitFiles/${script}`)],
        { env: { ...env, SCOOP_NODE: `${process.execPath} ${CLI}`, PI_TASKS: '40', PI_TRIES: '2000' } })
      assert.equal(r.code, 0, `${script}: ${r.stderr}`)
      assert.match(r.stderr, new RegExp(`hosts from ${scheduler}: localhost \\(2\\)`), script)
      assert.ok(Math.abs(Number(r.stdout.trim()) - Math.PI) < 0.2, `${script} printed an estimate of pi: ${r.stdout}`)
      clean(r)
    }
  })

  it('explains bad host options', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--hosts', 'a', '--hostfile', join(dir, 'h'), fixture('clusterRun.ts')], /--hosts and --hostfile both name the hosts/],
      [['--hostfile', join(dir, 'missing'), fixture('clusterRun.ts')], /--hostfile .*missing: cannot read the file/],
      [['--hosts', 'a', '--join', '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWAbc', fixture('clusterRun.ts')], /--hosts and --hostfile start this run's workers over ssh, --join and --mdns run it on a live mesh/],
      [['--hosts', 'a', 'b'], /give the script to run/],
      [['--env', '1BAD=x', fixture('clusterRun.ts')], /'1BAD' is not an environment variable name/],
      [['-n', '2'], /missing the script/]
    ]
    writeFileSync(join(dir, 'bad'), 'nodeA 0\n')
    cases.push([['--hostfile', join(dir, 'bad'), fixture('clusterRun.ts')], /bad:1 \(host 'nodeA'\): worker count '0' must be a whole number of at least 1/])
    cases.push([['-n', '2', fixture('clusterRun.ts')], /SLURM_TASKS_PER_NODE '2\(x3\)' describes 3 node\(s\) but the node list has 2/])
    for (const [i, [args, message]] of cases.entries()) {
      const env = i === cases.length - 1 ? { SLURM_JOB_NODELIST: 'node[01-02]', SLURM_TASKS_PER_NODE: '2(x3)' } : undefined
      const r = await run([CLI, ...args], { env })
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, message)
      clean(r)
    }
  })
})
