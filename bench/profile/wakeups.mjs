// The floor under a task's round trip on this machine: what the wake-ups alone cost, with no
// scoop-node or libp2p code on the path. A round trip to another worker wakes six threads in
// turn (origin executor → origin host → worker host → worker executor and back: four thread
// hops and two socket messages; `strace -f -c` of a roundtrip run counts ~6.3 writes and reads
// per task, no more), so six of these wake-ups are its least possible cost.
//   node bench/profile/wakeups.mjs [round trips, default 5000]
// Prints the median round trip of a 100-byte message over a loopback TCP socket to another
// process, and of a postMessage to a worker thread and back.
import net from 'node:net'
import { fork } from 'node:child_process'
import { Worker } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { medianRoundTripUs } from './round-trips.mjs'


if (process.argv[2] === '--echo-server') {
  // The other process: echoes whatever it reads.
  const server = net.createServer(socket => { socket.setNoDelay(true); socket.on('data', d => socket.write(d)) })
  server.listen(0, '127.0.0.1', () => { process.send(server.address().port) })
  process.on('disconnect', () => { process.exit(0) })
} else {
  const count = Number(process.argv[2] ?? 5000)
  const message = Buffer.alloc(100)

  const echo = fork(fileURLToPath(import.meta.url), ['--echo-server'])
  try {
    const port = await new Promise((resolve, reject) => { echo.once('message', resolve); echo.once('exit', reject) })
    const socket = net.connect(port, '127.0.0.1')
    socket.setNoDelay(true)
    await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
    const tcp = await medianRoundTripUs(count, () => new Promise(resolve => { socket.once('data', resolve); socket.write(message) }))
    socket.destroy()
    console.log(`loopback TCP to another process: ${tcp.toFixed(1)} µs per round trip`)
  } finally {
    echo.kill()
  }

  const thread = new Worker('require("node:worker_threads").parentPort.on("message", m => require("node:worker_threads").parentPort.postMessage(m))', { eval: true })
  try {
    const hop = await medianRoundTripUs(count, () => new Promise(resolve => { thread.once('message', resolve); thread.postMessage(message) }))
    console.log(`postMessage to a worker thread:  ${hop.toFixed(1)} µs per round trip`)
  } finally {
    await thread.terminate()
  }
}
