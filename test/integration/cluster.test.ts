// `--hosts` as a cluster user runs it: three hosts (network namespaces on a bridge, 198.18.0.x),
// Debian's sshd on the remote ones with keys made for the test, the launcher on the first. Checks
// that the workers start over ssh and run tasks on every host, that a host whose ssh fails is
// named with ssh's own words while the run goes on (or stops, under --require-all), that --tunnel
// works when the hosts cannot reach the origin, and that no process is left on any host: after a
// clean end, a dropped ssh link, or a killed origin.
// Needs root and openssh-server (`npm test` installs it as root); skipped, saying why, otherwise.
import { strict as assert } from 'node:assert'
import { execFileSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { labPerTest, skipSuiteUnless, type NetnsHost, type NetnsLab, type NetnsProcess } from '../helpers/netns.js'
import { SshCluster, sshUnavailableReason } from '../helpers/sshd.js'
import { CLI, example, fixture } from '../helpers/run.js'

/** Polls (bounded) until only the sshd listener is left in each host's namespace; returns what is left. */
async function leftoversOn (lab: NetnsLab, hosts: NetnsHost[], keep: Array<NetnsProcess | undefined>, withinMs = 20_000): Promise<number[]> {
  const kept = new Set(keep.map(p => p?.pid))
  const deadline = Date.now() + withinMs
  for (;;) {
    const left = hosts.flatMap(h => lab.pids(h)).filter(pid => !kept.has(pid))
    if (left.length === 0 || Date.now() > deadline) return left
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

const outputOf = (run: NetnsProcess): string => `stdout:\n${run.stdout.join('\n')}\nstderr:\n${run.stderr.join('\n')}`
const resultOf = (run: NetnsProcess): { ok: boolean, size: number, perHost: Record<string, number> } =>
  JSON.parse(run.stdout.filter(line => line.startsWith('{')).at(-1) ?? 'null')

describe('a run over ssh hosts (--hosts) across real links', function () {
  this.timeout(180_000)
  const makeLab = labPerTest()
  let ssh: SshCluster | undefined
  skipSuiteUnless(sshUnavailableReason)
  afterEach(() => {
    ssh?.remove()
    ssh = undefined
  })

  /** Three hosts; sshd on the ones given (by index). */
  async function cluster (serve: number[]): Promise<{ lab: NetnsLab, hosts: NetnsHost[], ssh: SshCluster }> {
    const lab = makeLab({ hosts: 3, topology: 'bridge' })
    ssh = SshCluster.create(lab)
    const made = ssh
    await Promise.all(serve.map(async i => { await made.startServer(lab.hosts[i]) }))
    return { lab, hosts: lab.hosts, ssh: made }
  }

  it('starts workers on every host with one ssh connection each; tasks run on all of them; nothing is left afterwards', async () => {
    const { lab, hosts: [a, b, c], ssh } = await cluster([1, 2])
    const run = lab.spawnNode(a, [CLI, '-v', '--ssh-executable', ssh.sshWrapper, '--hosts', a.address, b.address, b.address, c.address,
      fixture('clusterRun.ts'), '4', '300', '5'])
    assert.equal(await run.exited, 0, outputOf(run))
    const result = resultOf(run)
    assert.ok(result?.ok, `every value right: ${outputOf(run)}`)
    assert.equal(result.size, 4, 'the origin, 2 workers on b and 1 on c')
    for (const host of [b, c]) assert.ok(result.perHost[host.address] > 0, `tasks ran on ${host.address}: ${JSON.stringify(result.perHost)}`)
    const stderr = run.stderr.join('\n')
    assert.match(stderr, new RegExp(`host ${b.address.replace(/\./g, '\\.')}: 2 worker\\(s\\) up`))
    assert.match(stderr, new RegExp(`host ${c.address.replace(/\./g, '\\.')}: 1 worker\\(s\\) up`))
    assert.deepEqual(await leftoversOn(lab, [a, b, c], [ssh.server(b), ssh.server(c)]), [], 'no process left on any host')
  })

  it('names a host whose ssh link drops mid-start, with ssh\'s message, and goes on with the others', async () => {
    const { lab, hosts: [a, b, c], ssh } = await cluster([1, 2])
    // The prolog holds c's start until the test has read the fifo; then the test kills every
    // process in c's namespace: sshd, the session, the start command.
    const fifo = join(ssh.dir, 'c-starting')
    execFileSync('mkfifo', [fifo])
    const prolog = join(ssh.dir, 'prolog.sh')
    await writeFile(prolog, `case "$SSH_CONNECTION" in *" ${c.address} "*) echo starting > ${fifo} ;; esac\n`)
    const run = lab.spawnNode(a, [CLI, '-v', '--ssh-executable', ssh.sshWrapper, '--prolog', prolog, '--hosts', a.address, b.address, b.address, c.address,
      fixture('clusterRun.ts'), '3', '200', '5'])
    const starting = await Promise.race([
      readFile(fifo, 'utf8'),
      run.exited.then(code => { throw new Error(`the launcher ended (${code}) before c's start:\n${outputOf(run)}`) })
    ])
    assert.equal(starting.trim(), 'starting')
    for (const pid of lab.pids(c)) process.kill(pid, 'SIGKILL')
    assert.equal(await run.exited, 0, outputOf(run))
    const stderr = run.stderr.join('\n')
    assert.match(stderr, new RegExp(`host ${c.address.replace(/\./g, '\\.')}: could not start its 1 worker\\(s\\): .*(closed|reset|Broken pipe).*ssh exit code 255`), stderr)
    assert.match(stderr, /the run goes on with 1 of 2 remote host\(s\)/)
    const result = resultOf(run)
    assert.ok(result?.ok, outputOf(run))
    assert.ok(result.perHost[b.address] > 0, `tasks ran on b: ${JSON.stringify(result.perHost)}`)
    assert.deepEqual(await leftoversOn(lab, [a, b], [ssh.server(b)]), [])
  })

  it('--require-all stops the run, naming the host, when one cannot be reached', async () => {
    const { lab, hosts: [a, b, c], ssh } = await cluster([1])
    const run = lab.spawnNode(a, [CLI, '--require-all', '--ssh-executable', ssh.sshWrapper, '--hosts', a.address, b.address, c.address,
      fixture('clusterRun.ts'), '3', '50', '1'])
    assert.equal(await run.exited, 1, outputOf(run))
    const stderr = run.stderr.join('\n')
    assert.match(stderr, new RegExp(`host ${c.address.replace(/\./g, '\\.')}: could not start its 1 worker\\(s\\): .*Connection refused`), stderr)
    assert.match(stderr, /1 of 2 remote host\(s\) did not start, and --require-all asks for every one/)
    assert.equal(resultOf(run), null, 'the script did not run')
    assert.deepEqual(await leftoversOn(lab, [a, b], [ssh.server(b)]), [], 'b\'s workers, started, were ended too')
  })

  it('--tunnel: hosts that cannot reach the origin (it listens on loopback) get to it through ssh forwards', async () => {
    const { lab, hosts: [a, b, c], ssh } = await cluster([1, 2])
    // a is not in the list: the origin runs only the main part, every task runs on b or c.
    const run = lab.spawnNode(a, [CLI, '-v', '--tunnel', '--ssh-executable', ssh.sshWrapper, '--hosts', b.address, c.address,
      example('piCalc.ts')])
    assert.equal(await run.exited, 0, outputOf(run))
    assert.match(run.stdout.join('\n'), /3\.1\d*/, 'piCalc printed its estimate')
    assert.match(run.stderr.join('\n'), /tunnelled/)
    assert.match(run.stderr.join('\n'), /listening on \/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\S+; starting 0 worker/, 'the origin listens on loopback only')
    assert.deepEqual(await leftoversOn(lab, [a, b, c], [ssh.server(b), ssh.server(c)]), [])
  })

  it('a dropped ssh link ends that host\'s workers mid-run and the run completes on the others; a killed origin ends every remote worker', async () => {
    const { lab, hosts: [a, b, c], ssh } = await cluster([1, 2])
    const run = lab.spawnNode(a, [CLI, '-v', '--ssh-executable', ssh.sshWrapper, '--hosts', a.address, b.address, c.address,
      fixture('clusterRun.ts'), '3', '600', '10'])
    await run.waitForLine(/MAPPING/, { timeoutMs: 60_000 })
    // The link to b drops: its sshd session dies (the listener stays).
    for (const pid of lab.pids(b)) if (pid !== ssh.server(b)?.pid) process.kill(pid, 'SIGKILL')
    // Bounded below the test's timeout, so that a run that hangs (once, in a full suite) fails with its output.
    const ended = await Promise.race([run.exited, new Promise(resolve => { setTimeout(resolve, 120_000, 'still running after 120 s').unref() })])
    assert.equal(ended, 0, outputOf(run))
    assert.ok(resultOf(run)?.ok, outputOf(run))
    assert.match(run.stderr.join('\n'), new RegExp(`host ${b.address.replace(/\./g, '\\.')}: the link closed`))
    assert.deepEqual(await leftoversOn(lab, [a, b, c], [ssh.server(b), ssh.server(c)]), [])

    const killed = lab.spawnNode(a, [CLI, '--ssh-executable', ssh.sshWrapper, '--hosts', a.address, b.address, c.address,
      fixture('clusterRun.ts'), '3', '2000', '20'])
    await killed.waitForLine(/MAPPING/, { timeoutMs: 60_000 })
    process.kill(killed.pid, 'SIGKILL')
    await killed.exited
    assert.deepEqual(await leftoversOn(lab, [a, b, c], [ssh.server(b), ssh.server(c)]), [], 'no process left on any host after the origin was killed')
  })
})
