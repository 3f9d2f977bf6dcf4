// Debug logs of the modules an executor thread loads (DEBUG=scoop:*, as everywhere). The
// logger library, with the encodings its formatters use, cost an executor thread's start about
// 40 ms on this project's 2-core machine: it is loaded only when DEBUG asks for any log at all.
// The launcher sets DEBUG before it starts the thread (-vv, --debug).

import type { Logger } from '@libp2p/interface'

const wanted = (process.env.DEBUG ?? '') !== ''
const libp2pLogger = wanted ? (await import('@libp2p/logger')).logger : undefined

const silent: Logger = Object.assign(() => {}, {
  error: () => {},
  trace: () => {},
  newScope: () => silent,
  enabled: false
})

/** The logger of `name`, silent unless DEBUG is set. */
export function threadLogger (name: string): Logger {
  return libp2pLogger?.(name) ?? silent
}
