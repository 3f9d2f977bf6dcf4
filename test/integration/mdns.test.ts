// `--mdns` as a user runs it on a LAN: long-lived workers on one host, an origin on another,
// no address given anywhere; the origin finds the workers by mDNS and runs on them. The hosts
// are network namespaces joined by a veth pair, so multicast crosses a real link.
// Needs root (network namespaces); skipped, saying why, otherwise.
import { strict as assert } from 'node:assert'
import { hostname } from 'node:os'
import { labPerTest } from '../helpers/netns.js'
import { CLI, fixture } from '../helpers/run.js'

describe('a mesh found by mDNS (--mdns) across a real link', function () {
  this.timeout(120_000)
  const makeLab = labPerTest()

  it('an origin started with --mdns finds long-lived workers on another host and runs on them', async () => {
    const lab = makeLab({ hosts: 2, topology: 'veth' })
    const [workerHost, originHost] = lab.hosts
    const workers = lab.spawnNode(workerHost, [CLI, '-v', '--mdns', '--insecure', '--listen', `/ip4/${workerHost.address}/tcp/0`, '-n', '1'])
    const [, pid] = await workers.waitForLine(/worker (\d+) up on/, { stream: 'stderr' })
    await workers.waitForLine(/listening on \/ip4\/198\.18\./)

    const origin = lab.spawnNode(originHost, [CLI, '--mdns', '--insecure', fixture('meshRun.ts'), 'mdns', '2', '40', '10'])
    assert.equal(await origin.exited, 0, `the run failed:\n${origin.stdout.join('\n')}\n${origin.stderr.join('\n')}`)
    const out = JSON.parse(origin.stdout.filter(line => line.startsWith('{')).at(-1) ?? '{}')
    assert.ok(out.ok && out.tagsOk, 'every value right, every task saw the constant')
    assert.equal(out.size, 2, 'the origin and the worker on the other host')
    assert.ok(out.workers.includes(`${hostname()}:${pid}`), `the worker across the link ran tasks: ${String(out.workers)}`)
    assert.ok(workers.running, 'the long-lived worker stays up after the run')
  })

  it('on a host without a multicast route, --mdns says that peers will not be found, and the worker stays up', async () => {
    const lab = makeLab({ hosts: 2, multicastRoute: false })
    const [host] = lab.hosts
    const workers = lab.spawnNode(host, [CLI, '-v', '--mdns', '--insecure', '--listen', `/ip4/${host.address}/tcp/0`, '-n', '1'])
    const [, pid] = await workers.waitForLine(/worker (\d+) up on/, { stream: 'stderr' })
    await workers.waitForLine(/mDNS query could not be sent .*is there a multicast route\? Peers will not be discovered/, { stream: 'stderr' })
    assert.ok(workers.running)
    process.kill(Number(pid), 0) // throws if the worker is gone
  })
})
