import { strict as assert } from 'node:assert'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { remoteCommand } from '../../src/launch/remote.js'

describe('launch/remote: the command ssh runs on a host', () => {
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'scoop-remote-')) })
  afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

  /** Runs the command as a remote login shell would (sh -c with the whole string), with a stand-in for node. */
  const runAsRemoteShell = (command: string): { code: number, stdout: string, stderr: string } => {
    try {
      return { code: 0, stdout: execFileSync('/bin/sh', ['-c', command], { encoding: 'utf8', stdio: 'pipe' }), stderr: '' }
    } catch (err) {
      const e = err as { status: number, stdout: string, stderr: string }
      return { code: e.status, stdout: e.stdout, stderr: e.stderr }
    }
  }

  it('enters the work directory, sources the prolog, sets the environment and runs the agent, whatever the quotes and $ in them', () => {
    const workDir = join(dir, "it's $HOME `here`")
    mkdirSync(workDir)
    const agentEntry = join(dir, 'agent "entry".js')
    writeFileSync(agentEntry, '')
    const prolog = join(dir, 'prolog it\'s.sh')
    writeFileSync(prolog, 'export FROM_PROLOG=yes\n')
    // A stand-in for node that shows what it got: its working directory, environment, argument.
    const node = join(dir, 'fake node')
    writeFileSync(node, '#!/bin/sh\necho "$PWD|$FROM_PROLOG|$ODD|$1"\n', { mode: 0o755 })
    const out = runAsRemoteShell(remoteCommand({ node, agentEntry, workDir, prolog, env: [['ODD', "a 'b' $c \"d\""]] }))
    assert.equal(out.code, 0, out.stderr)
    assert.equal(out.stdout.trim(), `${workDir}|yes|a 'b' $c "d"|${agentEntry}`)
  })

  it('says which step failed: no work directory, no scoop-node at the same path', () => {
    const noDir = runAsRemoteShell(remoteCommand({ node: '/bin/true', agentEntry: join(dir, 'agent.js'), workDir: join(dir, 'gone'), env: [] }))
    assert.equal(noDir.code, 126)
    assert.match(noDir.stderr, /scoop-node: no directory .*gone on .* \(see --path\)/)
    const noAgent = runAsRemoteShell(remoteCommand({ node: '/bin/true', agentEntry: join(dir, 'agent.js'), workDir: dir, env: [] }))
    assert.equal(noAgent.code, 127)
    assert.match(noAgent.stderr, /scoop-node: not installed on .* at the path it has here/)
  })
})
