// Where launcher and worker messages go: stderr or a --log file, as text (a timestamp in front
// when in a file) or, with --log-format json, one JSON object per line for machines.

import { appendFileSync } from 'node:fs'

export type LogFormat = 'text' | 'json'

export interface LogSettings {
  /** Append to this file instead of writing to stderr. */
  file?: string
  format: LogFormat
}

/** A function that writes one message as the settings say. */
export function messageWriter (settings: LogSettings): (line: string) => void {
  return line => {
    const time = new Date().toISOString()
    const text = settings.format === 'json'
      ? JSON.stringify({ time, pid: process.pid, message: line })
      : (settings.file !== undefined ? `${time} ${line}` : line)
    if (settings.file !== undefined) appendFileSync(settings.file, `${text}\n`)
    else process.stderr.write(`${text}\n`)
  }
}
