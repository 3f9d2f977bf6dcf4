// Entry of the thread that hosts the origin's libp2p node when a script runs without the
// launcher (`node script.js`): the script's own thread is the executor.

import '../polyfill.js'
import { workerData } from 'node:worker_threads'
import { startOrigin, type OriginOptions } from './origin.js'
import type { MessagePort } from 'node:worker_threads'

const data = workerData as OriginOptions & { port: MessagePort }
await startOrigin(data, data.port)
