import { strict as assert } from 'node:assert'
import {
  detectBatchScheduler, distributeWorkers, expandSlurmNodelist, MAX_EXPANDED_HOSTS, parseHostfile, parseHostsOption,
  parseSlurmTasksPerNode, slotsFromLsf, slotsFromPbs, slotsFromSge, slotsFromSlurm, type ReadFile,
  planHosts, isThisMachine
} from '../../src/launch/hosts.js'
import { splitPlan } from '../../src/launch/cluster.js'

/** A readFile over an in-memory table; an unknown path fails like fs does. */
const files = (table: Record<string, string>): ReadFile => (path) => {
  const text = table[path]
  if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`)
  return text
}
const noFiles = files({})

/** Asserts that `f` throws an InvalidArgumentError whose message contains every one of `parts`. */
const throwsInvalid = (f: () => unknown, ...parts: string[]): void => {
  assert.throws(f, (err: Error) => {
    assert.equal(err.name, 'InvalidArgumentError')
    for (const part of parts) assert.ok(err.message.includes(part), `'${err.message}' should mention '${part}'`)
    return true
  })
}

describe('launch/hosts', () => {
  describe('parseHostfile', () => {
    it('reads `host N`, `host worker=N`, `host slots=N` and a host with no count', () => {
      const text = [
        '# the lab machines',
        'nodeA 4',
        '',
        'nodeB worker=2   # the small one',
        '   nodeC slots=3',
        'nodeD',
        '10.0.0.7\t6'
      ].join('\n')
      assert.deepEqual(parseHostfile(text, 'hosts'), [
        { host: 'nodeA', workers: 4 },
        { host: 'nodeB', workers: 2 },
        { host: 'nodeC', workers: 3 },
        { host: 'nodeD', workers: undefined },
        { host: '10.0.0.7', workers: 6 }
      ])
    })

    it('skips non-numeric words and counts the first number only', () => {
      const text = 'nodeA fast 3 7\nnodeB queue=gpu worker=5 slots=9\nnodeC label\r\n'
      assert.deepEqual(parseHostfile(text, 'hosts'), [
        { host: 'nodeA', workers: 3 },
        { host: 'nodeB', workers: 5 },
        { host: 'nodeC', workers: undefined }
      ])
    })

    it('adds up a host listed on several lines, in the order hosts first appear', () => {
      const text = 'a 2\nb 1\na worker=3\nc 1\nb 4'
      assert.deepEqual(parseHostfile(text, 'hosts'), [
        { host: 'a', workers: 5 },
        { host: 'b', workers: 5 },
        { host: 'c', workers: 1 }
      ])
    })

    it('returns no hosts for a file of comments and blank lines', () => {
      assert.deepEqual(parseHostfile('# nothing yet\n\n   \n#a 2\n', 'hosts'), [])
    })

    it('rejects zero, negative and fractional counts, naming file and line', () => {
      throwsInvalid(() => parseHostfile('a 2\nb 0', 'my.hosts'), 'my.hosts:2', "'b'", "'0'")
      throwsInvalid(() => parseHostfile('# x\n\na -3', 'my.hosts'), 'my.hosts:3', "'-3'")
      throwsInvalid(() => parseHostfile('a worker=2.5', 'my.hosts'), 'my.hosts:1', "'2.5'")
    })

    it('rejects a line that does not start with a host name', () => {
      throwsInvalid(() => parseHostfile('a 1\nworker=4', 'hosts'), 'hosts:2', "'worker=4'")
      throwsInvalid(() => parseHostfile('/etc/hosts 2', 'hosts'), 'hosts:1')
    })

    it('rejects a repeated host without a count on every line, naming both lines', () => {
      throwsInvalid(() => parseHostfile('a 2\nb\na', 'hosts'), 'hosts:3', "'a'", 'line 1')
      throwsInvalid(() => parseHostfile('a\na 2', 'hosts'), 'hosts:2', 'line 1')
    })
  })

  describe('parseHostsOption', () => {
    it('counts a repeated host as that many workers, in order of first appearance', () => {
      assert.deepEqual(parseHostsOption(['a', 'a', 'b']), [{ host: 'a', workers: 2 }, { host: 'b', workers: 1 }])
      assert.deepEqual(parseHostsOption(['b', 'a', 'b', 'c', 'a', 'b']), [
        { host: 'b', workers: 3 },
        { host: 'a', workers: 2 },
        { host: 'c', workers: 1 }
      ])
    })

    it('rejects an empty entry or one with spaces, naming its position', () => {
      throwsInvalid(() => parseHostsOption(['a', '']), 'entry 2')
      throwsInvalid(() => parseHostsOption(['a b']), 'entry 1', "'a b'")
    })
  })

  describe('distributeWorkers', () => {
    const slots = [{ host: 'a', workers: 3 }, { host: 'b', workers: 2 }, { host: 'c', workers: 1 }]

    it('keeps the hosts as given without -n, as copies', () => {
      const out = distributeWorkers(slots, undefined)
      assert.deepEqual(out, slots)
      out[0].workers = 99
      assert.equal(slots[0].workers, 3, 'the input is not changed')
    })

    it('below the total fills hosts in order, trimming and dropping the last ones', () => {
      assert.deepEqual(distributeWorkers(slots, 4), [{ host: 'a', workers: 3 }, { host: 'b', workers: 1 }])
      assert.deepEqual(distributeWorkers(slots, 5), [{ host: 'a', workers: 3 }, { host: 'b', workers: 2 }])
      assert.deepEqual(distributeWorkers(slots, 2), [{ host: 'a', workers: 2 }])
      assert.deepEqual(distributeWorkers(slots, 6), slots)
    })

    it('above the total adds one worker per host, round-robin from the first', () => {
      assert.deepEqual(distributeWorkers(slots, 8), [
        { host: 'a', workers: 4 },
        { host: 'b', workers: 3 },
        { host: 'c', workers: 1 }
      ])
      // 7 extra over 3 hosts: two full rounds, then one more for the first host.
      assert.deepEqual(distributeWorkers(slots, 13), [
        { host: 'a', workers: 6 },
        { host: 'b', workers: 4 },
        { host: 'c', workers: 3 }
      ])
      assert.deepEqual(distributeWorkers([{ host: 'solo', workers: 1 }], 5), [{ host: 'solo', workers: 5 }])
    })

    it('rejects a bad -n, no hosts, and unresolved or bad counts', () => {
      throwsInvalid(() => distributeWorkers(slots, 0), '-n')
      throwsInvalid(() => distributeWorkers(slots, 2.5), '-n')
      throwsInvalid(() => distributeWorkers([], 3), 'no hosts')
      throwsInvalid(() => distributeWorkers([{ host: 'z', workers: 0 }], 3), "'z'")
      assert.deepEqual(distributeWorkers([], undefined), [])
    })
  })

  describe('Slurm', () => {
    it('expands ranges and lists in brackets, keeping zero padding', () => {
      assert.deepEqual(expandSlurmNodelist('node[01-04,07]'), ['node01', 'node02', 'node03', 'node04', 'node07'])
      assert.deepEqual(expandSlurmNodelist('node[008-011]'), ['node008', 'node009', 'node010', 'node011'])
      assert.deepEqual(expandSlurmNodelist('n[8-11]'), ['n8', 'n9', 'n10', 'n11'], 'no padding when the start has none')
      assert.deepEqual(expandSlurmNodelist('cn[5]'), ['cn5'])
    })

    it('expands several bracket groups in one name, the first group varying slowest', () => {
      assert.deepEqual(expandSlurmNodelist('rack[1-2]-node[01-02]'), ['rack1-node01', 'rack1-node02', 'rack2-node01', 'rack2-node02'])
      assert.deepEqual(expandSlurmNodelist('r[1,3]n[1-2]x'), ['r1n1x', 'r1n2x', 'r3n1x', 'r3n2x'])
    })

    it('splits a list mixing plain names and bracket forms at commas outside brackets', () => {
      assert.deepEqual(expandSlurmNodelist('a,b[1-3],c'), ['a', 'b1', 'b2', 'b3', 'c'])
      assert.deepEqual(expandSlurmNodelist('gpu[1,3],cpu[07-08,10],login'), ['gpu1', 'gpu3', 'cpu07', 'cpu08', 'cpu10', 'login'])
      assert.deepEqual(expandSlurmNodelist('single'), ['single'])
    })

    it('rejects malformed node lists with the list in the message', () => {
      throwsInvalid(() => expandSlurmNodelist('node[1-3'), "'node[1-3'", 'never closed')
      throwsInvalid(() => expandSlurmNodelist('node1-3]'), "']' without '['")
      throwsInvalid(() => expandSlurmNodelist('node[[1-2]]'), 'nested')
      throwsInvalid(() => expandSlurmNodelist('node[4-2]'), "'4-2'", 'ends before it starts')
      throwsInvalid(() => expandSlurmNodelist('node[a-c]'), "'a-c'")
      throwsInvalid(() => expandSlurmNodelist('node[]'), 'node[]')
      throwsInvalid(() => expandSlurmNodelist('a,,b'), 'empty host name')
      throwsInvalid(() => expandSlurmNodelist('n[0-999]m[0-999]'), String(MAX_EXPANDED_HOSTS))
    })

    it('parses SLURM_TASKS_PER_NODE with (xN) repeats', () => {
      assert.deepEqual(parseSlurmTasksPerNode('2(x3),1', 4), [2, 2, 2, 1])
      assert.deepEqual(parseSlurmTasksPerNode('4', 1), [4])
      assert.deepEqual(parseSlurmTasksPerNode('1,3(x2),2(x1)', 4), [1, 3, 3, 2])
    })

    it('rejects a tasks-per-node spec that does not match the node count or is malformed', () => {
      throwsInvalid(() => parseSlurmTasksPerNode('2(x3),1', 5), "'2(x3),1'", '4 node(s)', 'has 5')
      throwsInvalid(() => parseSlurmTasksPerNode('2(x1000000000)', 2), '1000000000 node(s)')
      throwsInvalid(() => parseSlurmTasksPerNode('2(3)', 1), "'2(3)'")
      throwsInvalid(() => parseSlurmTasksPerNode('0(x2)', 2), "'0'")
    })

    it('reads the allocation from SLURM_JOB_NODELIST and SLURM_TASKS_PER_NODE', () => {
      assert.deepEqual(slotsFromSlurm({ SLURM_JOB_NODELIST: 'node[01-03],gpu7', SLURM_TASKS_PER_NODE: '2(x3),1' }), [
        { host: 'node01', workers: 2 },
        { host: 'node02', workers: 2 },
        { host: 'node03', workers: 2 },
        { host: 'gpu7', workers: 1 }
      ])
    })

    it('falls back to SLURM_NODELIST, then to SLURM_NTASKS spread over the nodes', () => {
      assert.deepEqual(slotsFromSlurm({ SLURM_NODELIST: 'n[1-3]', SLURM_NTASKS: '8' }), [
        { host: 'n1', workers: 3 },
        { host: 'n2', workers: 3 },
        { host: 'n3', workers: 2 }
      ])
      assert.deepEqual(slotsFromSlurm({ SLURM_JOB_NODELIST: '', SLURM_NODELIST: 'n[1-4]', SLURM_NTASKS: '2' }),
        [{ host: 'n1', workers: 1 }, { host: 'n2', workers: 1 }], 'nodes without a task get no worker')
    })

    it('leaves the counts to the caller when Slurm gives none, and is undefined outside Slurm', () => {
      assert.deepEqual(slotsFromSlurm({ SLURM_JOB_NODELIST: 'a,b' }), [{ host: 'a', workers: undefined }, { host: 'b', workers: undefined }])
      assert.equal(slotsFromSlurm({}), undefined)
      assert.equal(slotsFromSlurm({ SLURM_JOB_NODELIST: '  ' }), undefined)
    })

    it('rejects mismatched or malformed counts from the environment', () => {
      throwsInvalid(() => slotsFromSlurm({ SLURM_JOB_NODELIST: 'n[1-3]', SLURM_TASKS_PER_NODE: '2(x2)' }), 'SLURM_TASKS_PER_NODE', '2 node(s)', 'has 3')
      throwsInvalid(() => slotsFromSlurm({ SLURM_JOB_NODELIST: 'n[1-3]', SLURM_NTASKS: 'many' }), 'SLURM_NTASKS', "'many'")
    })
  })

  describe('PBS, SGE, LSF', () => {
    it('PBS: counts the lines of PBS_NODEFILE per host', () => {
      const readFile = files({ '/var/spool/pbs/aux/42.server': 'n1\nn1\nn2\n\nn1\nn3\n' })
      assert.deepEqual(slotsFromPbs({ PBS_NODEFILE: '/var/spool/pbs/aux/42.server' }, readFile), [
        { host: 'n1', workers: 3 },
        { host: 'n2', workers: 1 },
        { host: 'n3', workers: 1 }
      ])
      assert.equal(slotsFromPbs({}, readFile), undefined)
    })

    it('PBS: an unreadable or empty node file names PBS_NODEFILE and the path', () => {
      throwsInvalid(() => slotsFromPbs({ PBS_NODEFILE: '/nope' }, noFiles), 'PBS_NODEFILE=/nope', 'ENOENT')
      throwsInvalid(() => slotsFromPbs({ PBS_NODEFILE: '/empty' }, files({ '/empty': '\n\n' })), 'PBS_NODEFILE=/empty', 'no hosts')
    })

    it('SGE: reads `host slots queue processors` lines of PE_HOSTFILE, adding up a host in several queues', () => {
      const readFile = files({
        '/tmp/pe': 'c1.example.org 4 all.q@c1.example.org UNDEFINED\nc2.example.org 2 all.q@c2.example.org UNDEFINED\n' +
          'c1.example.org 1 gpu.q@c1.example.org UNDEFINED\n'
      })
      assert.deepEqual(slotsFromSge({ PE_HOSTFILE: '/tmp/pe' }, readFile), [
        { host: 'c1.example.org', workers: 5 },
        { host: 'c2.example.org', workers: 2 }
      ])
      assert.equal(slotsFromSge({ NSLOTS: '4' }, readFile), undefined)
    })

    it('SGE: a bad slots field names the file and line', () => {
      const readFile = files({ '/tmp/pe': 'c1 4 all.q UNDEFINED\nc2 none all.q UNDEFINED\nc3\n' })
      throwsInvalid(() => slotsFromSge({ PE_HOSTFILE: '/tmp/pe' }, readFile), 'PE_HOSTFILE=/tmp/pe:2', "'none'")
      const short = files({ '/tmp/pe': 'c3\n' })
      throwsInvalid(() => slotsFromSge({ PE_HOSTFILE: '/tmp/pe' }, short), 'PE_HOSTFILE=/tmp/pe:1', "'c3'")
    })

    it('LSF: prefers LSB_MCPU_HOSTS pairs, else counts LSB_HOSTS words', () => {
      assert.deepEqual(slotsFromLsf({ LSB_MCPU_HOSTS: 'hostA 4 hostB 2 ', LSB_HOSTS: 'ignored' }), [
        { host: 'hostA', workers: 4 },
        { host: 'hostB', workers: 2 }
      ])
      assert.deepEqual(slotsFromLsf({ LSB_HOSTS: 'hostA hostA hostB hostA' }), [
        { host: 'hostA', workers: 3 },
        { host: 'hostB', workers: 1 }
      ])
      assert.equal(slotsFromLsf({}), undefined)
    })

    it('LSF: rejects LSB_MCPU_HOSTS that is not host/count pairs', () => {
      throwsInvalid(() => slotsFromLsf({ LSB_MCPU_HOSTS: 'hostA 4 hostB' }), 'LSB_MCPU_HOSTS', '3 words')
      throwsInvalid(() => slotsFromLsf({ LSB_MCPU_HOSTS: 'hostA four' }), "'hostA'", "'four'")
    })
  })

  describe('detectBatchScheduler', () => {
    const readFile = files({ '/pbs': 'p1\np1\n', '/sge': 'g1 3 all.q UNDEFINED\n' })
    const all = {
      SLURM_JOB_NODELIST: 's[1-2]',
      SLURM_TASKS_PER_NODE: '1(x2)',
      PBS_NODEFILE: '/pbs',
      PE_HOSTFILE: '/sge',
      LSB_HOSTS: 'l1'
    }

    it('tries Slurm, PBS, SGE, then LSF', () => {
      assert.deepEqual(detectBatchScheduler(all, readFile),
        { scheduler: 'slurm', slots: [{ host: 's1', workers: 1 }, { host: 's2', workers: 1 }] })
      const { SLURM_JOB_NODELIST: _s, ...noSlurm } = all
      assert.deepEqual(detectBatchScheduler(noSlurm, readFile), { scheduler: 'pbs', slots: [{ host: 'p1', workers: 2 }] })
      const { PBS_NODEFILE: _p, ...noPbs } = noSlurm
      assert.deepEqual(detectBatchScheduler(noPbs, readFile), { scheduler: 'sge', slots: [{ host: 'g1', workers: 3 }] })
      const { PE_HOSTFILE: _g, ...onlyLsf } = noPbs
      assert.deepEqual(detectBatchScheduler(onlyLsf, readFile), { scheduler: 'lsf', slots: [{ host: 'l1', workers: 1 }] })
    })

    it('is undefined outside a batch job, and reads no file then', () => {
      const readNothing: ReadFile = (path) => assert.fail(`read ${path}`)
      assert.equal(detectBatchScheduler({ HOME: '/root', PATH: '/usr/bin' }, readNothing), undefined)
    })

    it('throws on a malformed allocation instead of falling through to the next scheduler', () => {
      throwsInvalid(() => detectBatchScheduler({ ...all, SLURM_TASKS_PER_NODE: '3' }, readFile), 'SLURM_TASKS_PER_NODE')
    })
  })
})

describe('launch/hosts: a run\'s plan', () => {
  const machine = { hostname: 'nodeA.cluster.example', addresses: ['127.0.0.1', '10.1.2.3', 'fe80::1'] }

  it('planHosts: --hosts, else --hostfile, else the batch allocation; -n after; unknown counts get the default', () => {
    assert.deepEqual(planHosts({ hosts: ['a', 'a', 'b'], workersPerUnknownHost: 8 }, {}, noFiles), { source: '--hosts', slots: [{ host: 'a', workers: 2 }, { host: 'b', workers: 1 }] })
    assert.deepEqual(planHosts({ hosts: ['a', 'a', 'b'], workers: 5, workersPerUnknownHost: 8 }, {}, noFiles)?.slots, [{ host: 'a', workers: 3 }, { host: 'b', workers: 2 }])
    assert.deepEqual(planHosts({ hostfile: 'hf', workersPerUnknownHost: 4 }, {}, files({ hf: 'x 2\ny\n' })), { source: '--hostfile', slots: [{ host: 'x', workers: 2 }, { host: 'y', workers: 4 }] })
    const slurm = { SLURM_JOB_NODELIST: 'n[1-2]', SLURM_TASKS_PER_NODE: '2(x2)' }
    assert.deepEqual(planHosts({ workers: 3, workersPerUnknownHost: 1 }, slurm, noFiles), { source: 'slurm', slots: [{ host: 'n1', workers: 2 }, { host: 'n2', workers: 1 }] })
    assert.deepEqual(planHosts({ hosts: ['z'], workersPerUnknownHost: 1 }, slurm, noFiles)?.source, '--hosts', 'options win over the allocation')
    assert.equal(planHosts({ workers: 3, workersPerUnknownHost: 1 }, {}, noFiles), undefined)
  })

  it('planHosts names what is wrong', () => {
    throwsInvalid(() => planHosts({ hosts: ['a'], hostfile: 'hf', workersPerUnknownHost: 1 }, {}, noFiles), '--hosts and --hostfile both')
    throwsInvalid(() => planHosts({ hostfile: 'nope', workersPerUnknownHost: 1 }, {}, noFiles), '--hostfile nope: cannot read the file', 'ENOENT')
    throwsInvalid(() => planHosts({ hostfile: 'hf', workersPerUnknownHost: 1 }, {}, files({ hf: '# nothing\n' })), '--hostfile: no hosts are listed')
  })

  it('isThisMachine: loopback, the host name with or without its domain, an interface address; never user@host', () => {
    for (const host of ['localhost', '127.0.0.1', '127.0.1.1', '::1', 'nodeA', 'NODEA.cluster.example', 'nodeA.other', '10.1.2.3', 'fe80::1']) {
      assert.ok(isThisMachine(host, machine), host)
    }
    for (const host of ['nodeB', 'nodeAB', '10.1.2.4', 'root@localhost', 'nodeA@x']) assert.ok(!isThisMachine(host, machine), host)
  })

  it('splitPlan: this machine\'s share (the origin among it) and the remote hosts in order', () => {
    const plan = { source: '--hosts' as const, slots: [{ host: 'nodeA', workers: 2 }, { host: 'nodeB', workers: 3 }, { host: 'localhost', workers: 1 }, { host: 'nodeC', workers: 1 }] }
    assert.deepEqual(splitPlan(plan, machine), { plan, localWorkers: 3, originIsWorker: true, remote: [{ host: 'nodeB', workers: 3 }, { host: 'nodeC', workers: 1 }] })
    const away = { source: 'slurm' as const, slots: [{ host: 'nodeB', workers: 2 }] }
    assert.deepEqual(splitPlan(away, machine), { plan: away, localWorkers: 0, originIsWorker: false, remote: away.slots })
  })
})
