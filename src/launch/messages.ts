// Where launcher and worker messages go: stderr or a --log file, as text (a timestamp in front
// when in a file) or, with --log-format json, one JSON object per line for machines.

import { appendFileSync } from 'node:fs'

export type LogFormat = 'text' | 'json'

export interface LogSettings {
  /** Append to this file instead of writing to stderr. */
  file?: string
  format: LogFormat
}

/** One finished line to the --log file or stderr. */
function emit (settings: LogSettings, text: string): void {
  if (settings.file !== undefined) appendFileSync(settings.file, `${text}\n`)
  else process.stderr.write(`${text}\n`)
}

/** A function that writes one message as the settings say. */
export function messageWriter (settings: LogSettings): (line: string) => void {
  return line => {
    const time = new Date().toISOString()
    emit(settings, settings.format === 'json'
      ? JSON.stringify({ time, pid: process.pid, message: line })
      : (settings.file !== undefined ? `${time} ${line}` : line))
  }
}

/**
 * Writes the messages of another host's processes, which reach this one as lines of text through
 * ssh: a JSON line gains the host's name, a text line is named after the host unless it names
 * its writer already (as a worker's own messages do).
 */
export function relayWriter (settings: LogSettings): (host: string, line: string) => void {
  const write = messageWriter(settings)
  return (host, line) => {
    if (settings.format === 'json') {
      let record: unknown
      try { record = JSON.parse(line) } catch {}
      if (record !== null && typeof record === 'object' && !Array.isArray(record)) {
        emit(settings, JSON.stringify({ ...record, host }))
        return
      }
    }
    write(line.startsWith('scoop-node') ? line : `scoop-node: host ${host}: ${line}`)
  }
}
