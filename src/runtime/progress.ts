// Progress bars on stderr for futures.map ({ progress: true }, or the launcher's --progress):
// done/total with rate and ETA when the input's length is known, a counter when it is not.
// Drawn (by cli-progress) only on a terminal, and not under NO_COLOR or CI, unless forced.

import { isMainThread } from 'node:worker_threads'
import { createRequire } from 'node:module'
import type { SingleBar } from 'cli-progress'

/** cli-progress (17 files) is loaded when a bar is drawn: not by every thread that runs a task. */
const loadBars = (): typeof import('cli-progress') => createRequire(import.meta.url)('cli-progress')

/** `true`: on a terminal only; `'force'`: also on a pipe, under NO_COLOR or CI. */
export type ProgressOption = boolean | 'force'

/**
 * The launcher's --progress reaches the script's thread through the environment, with what the
 * launcher knows of its stderr (a worker thread's own stderr is a pipe to the main thread).
 */
export const PROGRESS_ENV = 'SCOOP_PROGRESS'
export const STDERR_TTY_ENV = 'SCOOP_STDERR_TTY'

/** This thread's stderr ends at a terminal (for a worker thread: the process's stderr does). */
function stderrIsTerminal (): boolean {
  return isMainThread ? process.stderr.isTTY : process.env[STDERR_TTY_ENV] === '1'
}

/**
 * The launcher's progress option, read once: it is set before the script's thread starts, and
 * reading process.env at every map cost a nested map (one per task of a tree) more than the rest.
 */
let launcherProgress: ProgressOption | undefined

/** The progress option in effect: the call's own, else the launcher's. */
function progressWanted (option: ProgressOption | undefined): ProgressOption {
  if (option !== undefined) return option
  if (launcherProgress === undefined) {
    const env = process.env[PROGRESS_ENV]
    launcherProgress = env === 'force' ? 'force' : env === '1'
  }
  return launcherProgress
}

export class ProgressBar {
  private readonly bar: SingleBar
  private done = 0
  private readonly startedAt = Date.now()

  private constructor (label: string, total: number | undefined) {
    const known = total !== undefined
    this.bar = new (loadBars().SingleBar)({
      stream: process.stderr,
      // Whether to draw was decided here: on a worker thread, stderr never reports a terminal.
      noTTYOutput: true,
      notTTYSchedule: 200,
      fps: 10,
      hideCursor: false,
      clearOnComplete: false,
      stopOnComplete: false,
      format: known
        ? `${label} [{bar}] {percentage}% | {value}/{total} | {rate}/s | ETA {eta_formatted}`
        : `${label} {value} done | {rate}/s`
    })
    this.bar.start(total ?? 0, 0, { rate: '0' })
  }

  /** A bar for a map, or undefined when none is wanted or stderr is no place for one. */
  static start (label: string, total: number | undefined, option: ProgressOption | undefined): ProgressBar | undefined {
    const wanted = progressWanted(option)
    if (wanted === false) return undefined
    const { NO_COLOR: noColor, CI: ci } = process.env
    const quiet = (noColor !== undefined && noColor !== '') || (ci !== undefined && ci !== '' && ci !== 'false')
    if (wanted !== 'force' && (!stderrIsTerminal() || quiet)) return undefined
    return new ProgressBar(label, total)
  }

  advance (items: number): void {
    this.done += items
    const seconds = (Date.now() - this.startedAt) / 1000
    this.bar.update(this.done, { rate: seconds > 0 ? (this.done / seconds).toFixed(0) : '0' })
  }

  stop (): void {
    this.bar.stop()
    // Drawn as on a terminal but through a pipe (a worker thread's stderr), the bar does not end its line.
    if (process.stderr.isTTY !== true) process.stderr.write('\n')
  }
}
