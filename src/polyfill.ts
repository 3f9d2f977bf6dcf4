// Node 20 lacks Promise.withResolvers, which every current libp2p line calls (LIBP2P.md):
// without it every inbound connection fails. Imported first by every entry point; a no-op on Node ≥ 22.

const P = Promise as any
if (typeof P.withResolvers !== 'function') {
  P.withResolvers = function withResolvers<T> () {
    let resolve!: (value: T | PromiseLike<T>) => void
    let reject!: (reason?: unknown) => void
    const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
export {}
