"""multiprocessing.Pool and concurrent.futures.ProcessPoolExecutor on the workloads of
`npm run bench`: `python3 python_pool.py mp|ppe <workload> [args]`, one JSON line out."""
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import Pool

from measure import (check, cannot_run, identity, naturals, pi_hits, report,
                     round_trip_median_us, serial_ms, timed)

WORKERS = int(__import__("os").environ.get("BENCH_WORKERS", "2"))
# Chunks for the 10M-item generator: with the default of 1, mp.Pool.imap would take ~4 min.
STREAM_CHUNK = 1000
NO_TREE = ("a task cannot submit to its own pool (the pool does not pickle to its workers), "
           "and a worker blocked on its children would hold its process (deadlock)")


class MpPool:
    """multiprocessing.Pool, used the way its documentation shows."""

    def __init__(self):
        self.pool = Pool(WORKERS)

    def one(self):
        return self.pool.apply(identity, (1,))

    def map(self, n):
        return self.pool.map(identity, range(n))  # chunks chosen by the pool

    def flood(self, n):
        pending = [self.pool.apply_async(identity, (i,)) for i in range(n)]
        return [p.get() for p in pending]

    def call(self, i):
        return self.pool.apply(identity, (i,))

    def pi(self, tasks, tries):
        return self.pool.map(pi_hits, [tries] * tasks)

    def stream(self, n):
        return sum(self.pool.imap(identity, naturals(n), chunksize=STREAM_CHUNK))

    def close(self):
        self.pool.close()
        self.pool.join()


class PoolExecutor:
    """concurrent.futures.ProcessPoolExecutor, used the way its documentation shows."""

    def __init__(self):
        self.ex = ProcessPoolExecutor(WORKERS)

    def one(self):
        return self.ex.submit(identity, 1).result()

    def map(self, n):
        return list(self.ex.map(identity, range(n)))  # default chunksize=1

    def flood(self, n):
        pending = [self.ex.submit(identity, i) for i in range(n)]
        return [f.result() for f in pending]

    def call(self, i):
        return self.ex.submit(identity, i).result()

    def pi(self, tasks, tries):
        return list(self.ex.map(pi_hits, [tries] * tasks))

    def stream(self, n):
        # Executor.map submits every chunk before it yields the first result: measured as is.
        return sum(self.ex.map(identity, naturals(n), chunksize=STREAM_CHUNK))

    def close(self):
        self.ex.shutdown()


def main():
    kind, workload, *args = sys.argv[1:]
    a, b = ([int(x) for x in args] + [0, 0])[:2]
    if workload == "tree":
        cannot_run(NO_TREE)
        return
    pool = {"mp": MpPool, "ppe": PoolExecutor}[kind]()
    if workload == "one":
        report(value=pool.one())
    else:
        # Every worker started before the timed part, as scoop-node's fullMesh does.
        [pool.call(i) for i in range(2 * WORKERS)]
        if workload in ("map", "flood"):
            ms, out = timed(lambda: getattr(pool, workload)(a))
            check(out[-1] == a - 1, workload)
            report(ms=ms)
        elif workload == "roundtrip":
            report(medianUs=round_trip_median_us(pool.call, a))
        elif workload == "pi":
            serial = serial_ms(a, b)
            ms, hits = timed(lambda: pool.pi(a, b))
            check(abs(4 * sum(hits) / (a * b) - 3.14159) < 0.02, "pi")
            report(ms=ms, serialMs=serial)
        elif workload == "stream":
            ms, total = timed(lambda: pool.stream(a))
            check(total == a * (a - 1) // 2, "stream")
            report(ms=ms)
        else:
            raise SystemExit(f"unknown workload {workload}")
    pool.close()


if __name__ == "__main__":
    main()
