// The timing loop of transport.mjs and wakeups.mjs.

/** Times `count` awaited round trips of `once`, dropping the first tenth (warm-up); µs, median. */
export async function medianRoundTripUs (count, once) {
  const samples = []
  for (let i = 0; i < count; i++) {
    const t = process.hrtime.bigint()
    await once()
    if (i >= count / 10) samples.push(Number(process.hrtime.bigint() - t) / 1000)
  }
  samples.sort((a, b) => a - b)
  return samples[samples.length >> 1]
}
