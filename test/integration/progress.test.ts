// Progress bars as a user sees them: under a pseudo-terminal (util-linux `script`) the launcher's
// --progress draws done/total with rate and ETA; on a pipe, or under NO_COLOR, nothing; forced,
// always; an input of unknown length gets a counter.
import { strict as assert } from 'node:assert'
import { run, runWith, fixture, CLI, type RunResult } from '../helpers/run.js'

const SCRIPT = '/usr/bin/script'
/** Neither CI (CI systems set it) nor NO_COLOR may silence the bars these tests look for, unless a test sets them. */
const LOUD = { CI: 'false', NO_COLOR: '' }
const BAR = /futures\.map\(slow\) \[=+\] 100% \| 80\/80 \| \d+\/s \| ETA 0s/

/** The launcher under a pseudo-terminal: its stdout and stderr both arrive on `stdout`. */
async function underTerminal (args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  const command = [process.execPath, CLI, ...args].map(a => `'${a}'`).join(' ')
  return await runWith(SCRIPT, ['-qec', command, '/dev/null'], { env: { ...LOUD, TERM: 'xterm', ...env }, timeout: 60_000 })
}

describe('progress bars (--progress, { progress })', function () {
  it('--progress draws done/total, rate and ETA on a terminal', async () => {
    const r = await underTerminal(['-n', '2', '--progress', fixture('progress.ts'), 'plain'])
    assert.equal(r.code, 0, r.stdout)
    assert.match(r.stdout, BAR)
    assert.match(r.stdout, /DONE 80/)
  })

  it('draws nothing on a pipe, nor under NO_COLOR on a terminal', async () => {
    const piped = await run([CLI, '-n', '2', '--progress', fixture('progress.ts'), 'plain'], { env: LOUD })
    assert.equal(piped.code, 0, piped.stderr)
    assert.doesNotMatch(piped.stderr, /futures\.map/)
    const noColor = await underTerminal(['-n', '2', '--progress', fixture('progress.ts'), 'plain'], { NO_COLOR: '1' })
    assert.equal(noColor.code, 0, noColor.stdout)
    assert.doesNotMatch(noColor.stdout, /futures\.map/)
    assert.match(noColor.stdout, /DONE 80/)
  })

  it('{ progress: \'force\' } draws on a pipe too; an input of unknown length gets a counter', async () => {
    const forced = await run([CLI, '-n', '2', fixture('progress.ts'), 'force'], { env: { CI: 'true' } })
    assert.equal(forced.code, 0, forced.stderr)
    assert.match(forced.stderr, BAR)
    const counter = await run([CLI, '-n', '2', fixture('progress.ts'), 'generator'], { env: LOUD })
    assert.match(counter.stderr, /futures\.map\(slow\) 80 done \| \d+\/s/)
  })
})
