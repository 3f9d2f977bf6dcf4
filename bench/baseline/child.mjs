// A worker of the baseline pool: imports the task module, runs what the parent sends over IPC.
const ns = await import(process.argv[2])
process.on('message', ({ id, fn, items }) => {
  process.send({ id, results: items.map(args => ns[fn](...args)) })
})
process.on('disconnect', () => process.exit(0))
process.send({ ready: true })
