"""Dask distributed on the workloads of `npm run bench`: `/usr/bin/python3 dask_bench.py
<workload> [args]`, one JSON line out. A LocalCluster of worker processes with one thread each
(Debian's python3-distributed; bench/run skips this peer when it is not installed)."""
import logging
import os
import sys

from distributed import Client, LocalCluster, worker_client

from measure import (check, cannot_run, identity, pi_hits, report,
                     round_trip_median_us, serial_ms, timed, workload_args)

WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))


def subtree(depth):
    """A task that waits for its two children: worker_client secedes from the worker's thread pool
    while it waits, so the children can run."""
    if depth == 0:
        return 1
    with worker_client() as client:
        a, b = client.gather(client.map(subtree, [depth - 1, depth - 1], pure=False))
    return 1 + a + b


def main():
    workload, args = workload_args()
    a, b = (args + [0, 0])[:2]
    if workload == "stream":
        cannot_run("Client.map turns its input into a list and a future per item first (10M futures)")
        return
    cluster = LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR)
    client = Client(cluster)
    # pure=False everywhere: identical calls (pi) would otherwise be computed once and shared.
    if workload == "one":
        report(value=client.submit(identity, 1, pure=False).result())
    else:
        client.wait_for_workers(WORKERS)
        client.gather(client.map(identity, range(2 * WORKERS), pure=False))
        if workload == "map":
            ms, out = timed(lambda: client.gather(client.map(identity, range(a), pure=False)))
            check(out[-1] == a - 1, workload)
            report(ms=ms)
        elif workload == "flood":
            ms, out = timed(lambda: client.gather([client.submit(identity, i, pure=False) for i in range(a)]))
            check(out[-1] == a - 1, workload)
            report(ms=ms)
        elif workload == "roundtrip":
            report(medianUs=round_trip_median_us(lambda i: client.submit(identity, i, pure=False).result(), a))
        elif workload == "tree":
            ms, tasks = timed(lambda: client.submit(subtree, a, pure=False).result())
            check(tasks == 2 ** (a + 1) - 1, "tree")
            report(ms=ms)
        elif workload == "pi":
            serial = serial_ms(a, b)
            ms, hits = timed(lambda: client.gather(client.map(pi_hits, [b] * a, pure=False)))
            check(abs(4 * sum(hits) / (a * b) - 3.14159) < 0.02, "pi")
            report(ms=ms, serialMs=serial)
        else:
            raise SystemExit(f"unknown workload {workload}")
    client.close()
    cluster.close()


if __name__ == "__main__":
    main()
