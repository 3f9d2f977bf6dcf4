// The dashboard: an HTTP server on 127.0.0.1 (unless told otherwise) with the page (`/`), a
// stream of server-sent events the page draws from (`/events`: the mesh's status every second,
// finished tasks as they come), and Prometheus metrics (`/metrics`). Everything it serves comes
// from this package: the page works with no internet.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { MeshStatus, TaskEvent } from '../core/wire.js'
import { DASHBOARD_PAGE } from './page.js'
import { prometheusText } from './metrics.js'

/** Where the dashboard gets its figures: a live peer host, or a peer asked over the mesh. */
export interface DashboardSource {
  status: () => Promise<MeshStatus>
  /** Finished tasks, when the source sees them (an origin sees its own). */
  onTask?: (listener: (event: TaskEvent) => void) => void
}

export interface Dashboard {
  url: string
  close: () => Promise<void>
}

/** How often the page gets the mesh's status, and task events (batched). */
const STATUS_EVERY_MS = 1000
const TASKS_EVERY_MS = 250
/** Task events kept for a page that opens late. */
const RECENT_TASKS_KEPT = 2000

export async function startDashboard (source: DashboardSource, port: number, host = '127.0.0.1'): Promise<Dashboard> {
  const clients = new Set<ServerResponse>()
  const recent: TaskEvent[] = []
  let pending: TaskEvent[] = []
  let latest: MeshStatus | undefined

  source.onTask?.(event => {
    pending.push(event)
    recent.push(event)
    if (recent.length > RECENT_TASKS_KEPT) recent.splice(0, recent.length - RECENT_TASKS_KEPT)
  })
  const send = (res: ServerResponse, event: string, data: unknown): void => {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
  }
  const refresh = async (): Promise<MeshStatus | undefined> => {
    try {
      latest = await source.status()
    } catch {
      // The peer asked over the mesh may be restarting: keep the last view.
    }
    return latest
  }
  const statusTimer = setInterval(() => {
    void refresh().then(view => { if (view !== undefined) for (const res of clients) send(res, 'status', view) })
  }, STATUS_EVERY_MS)
  const tasksTimer = setInterval(() => {
    if (pending.length === 0) return
    const batch = pending
    pending = []
    for (const res of clients) send(res, 'tasks', batch)
  }, TASKS_EVERY_MS)
  statusTimer.unref()
  tasksTimer.unref()

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://dashboard').pathname
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end()
    } else if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(DASHBOARD_PAGE)
    } else if (path === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' })
      clients.add(res)
      req.on('close', () => { clients.delete(res) })
      // A new page gets the last view at once (asking the mesh again only if there is none yet).
      void (latest !== undefined ? Promise.resolve(latest) : refresh()).then(view => {
        if (view !== undefined) send(res, 'status', view)
        // What is still pending goes out with the next batch, to this page too.
        const sent = recent.slice(0, recent.length - pending.length)
        if (sent.length > 0) send(res, 'tasks', sent)
      })
    } else if (path === '/metrics') {
      void refresh().then(view => {
        if (view === undefined) { res.writeHead(503).end('no view of the mesh yet\n'); return }
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(prometheusText(view))
      })
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { resolve() })
  })
  server.unref()
  const { port: bound } = server.address() as AddressInfo
  return {
    url: `http://${host}:${bound}/`,
    close: async () => {
      clearInterval(statusTimer)
      clearInterval(tasksTimer)
      for (const res of clients) res.end()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}
