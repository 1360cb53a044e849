"""Enqueue-to-start latency at a steady rate: p50 and p99 from the jobs' own measurements.

    python -m bench.latency --url sqlite:///bench.db --rate 100 --seconds 10 --processes 2

Worker processes run (idle, waiting for wake-ups); the producer enqueues one job at a time
at `--rate` per second; each job returns how long after its enqueue call it started.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

from bench import bench_app, workers
from bench.databases import reset


@dataclasses.dataclass
class Latency:
    p50: float
    p99: float
    max: float
    count: int


def measure(url: str, rate: float, seconds: float, processes: int = 2) -> Latency:
    """Milliseconds from enqueue to start over `rate * seconds` jobs."""
    reset(url)
    app = bench_app.build(url)
    app.migrate()
    stamp = app.registry.get("stamp")
    procs = workers.start(workers.conveyor_command("--queues", "default"), url, processes)
    try:
        time.sleep(2.0)  # let the workers start and go idle
        count = int(rate * seconds)
        began = time.perf_counter()
        ids = []
        for i in range(count):
            time.sleep(max(0.0, began + i / rate - time.perf_counter()))
            ids.append(stamp.enqueue(time.time()).id)
        latencies = [app.wait(job_id, timeout=30).result * 1000 for job_id in ids]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait()
        app.close()
    cuts = statistics.quantiles(latencies, n=100)
    return Latency(p50=cuts[49], p99=cuts[98], max=max(latencies), count=count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="sqlite:///bench.db")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    got = measure(args.url, args.rate, args.seconds, args.processes)
    print(f"enqueue-to-start over {got.count} jobs at {args.rate:g}/s: p50 {got.p50:.2f} ms, "
          f"p99 {got.p99:.2f} ms, max {got.max:.2f} ms")


if __name__ == "__main__":
    main()
