"""How the Python peers of `npm run bench` measure: the same tasks, timing, round-trip sampler,
memory probe and one JSON output line as bench/scripts/measure.mjs on the Node side."""
import json
import os
import random
import resource
import statistics
import sys
import time


def identity(x):
    return x


def pi_hits(tries):
    hits = 0
    for _ in range(tries):
        x = random.random()
        y = random.random()
        if x * x + y * y <= 1:
            hits += 1
    return hits


def naturals(n):
    """0 .. n-1 made one at a time: an input that exists nowhere as a whole."""
    yield from range(n)


def timed(fn):
    """(milliseconds, value) of fn()."""
    t = time.perf_counter()
    value = fn()
    return (time.perf_counter() - t) * 1000, value


def round_trip_median_us(call, count):
    """Median of `count` sequential calls of call(i) in µs, after count/10 more to warm up."""
    warm_up = -(-count // 10)
    samples = []
    for i in range(count + warm_up):
        t = time.perf_counter()
        call(i)
        if i >= warm_up:
            samples.append((time.perf_counter() - t) * 1e6)
    return statistics.median(samples)


def serial_ms(tasks, tries):
    """Serial time of the Monte-Carlo workload in this process: the base of the speed-up."""
    return timed(lambda: [pi_hits(tries) for _ in range(tasks)])[0]


def check(ok, what):
    if not ok:
        raise RuntimeError(f"wrong result: {what}")


def _children(pid):
    """Direct children of a process, from /proc (Linux), over all its threads."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    out = []
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out


def _peak_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak_rss():
    """Peak RSS so far in KiB: this process's and the largest of its live descendants'
    (None when it has none). Called at the end of a workload, while the workers still live."""
    worker = None
    pending = _children(os.getpid())
    while pending:
        pid = pending.pop()
        worker = max(worker or 0, _peak_rss_kib(pid))
        pending += _children(pid)
    return {"origin": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "worker": worker}


def report(**figures):
    print(json.dumps({**figures, "rss": peak_rss()}), flush=True)


def cannot_run(reason):
    print(json.dumps({"cannotRun": reason}), flush=True)


def workload_args():
    """The workload and its numeric arguments from the command line."""
    name, *args = sys.argv[1:]
    return name, [int(a) for a in args]
