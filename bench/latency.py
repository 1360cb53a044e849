"""Enqueue-to-start latency at a steady rate: p50 and p99 from the jobs' own measurements.

    python -m bench.latency --url sqlite:///bench.db --rate 100 --seconds 10

One worker process runs (idle, waiting for wake-ups); the producer enqueues one job at a
time at `--rate` per second; each job returns how long after its enqueue it started.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from bench import throughput


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="sqlite:///bench.db")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    throughput.reset(args.url)
    os.environ["CONVEYOR_URL"] = args.url
    from bench import bench_app

    app = bench_app.app
    app.migrate()
    env = {**os.environ, "PYTHONPATH": str(throughput.ROOT)}
    worker = subprocess.Popen([sys.executable, "-m", "conveyor", "--app", "bench.bench_app:app",
                               "worker", "--queues", "default", "--no-migrate"],
                              cwd=throughput.ROOT, env=env, stderr=subprocess.DEVNULL)
    time.sleep(2.0)  # let the worker start and go idle
    count = int(args.rate * args.seconds)
    began = time.perf_counter()
    ids = []
    for i in range(count):
        time.sleep(max(0.0, began + i / args.rate - time.perf_counter()))
        ids.append(bench_app.stamp.enqueue(time.time()).id)
    latencies = [app.wait(job_id, timeout=30).result * 1000 for job_id in ids]
    worker.terminate()
    worker.wait()
    app.close()
    cuts = statistics.quantiles(latencies, n=100)
    print(f"enqueue-to-start over {count} jobs at {args.rate:g}/s: p50 {cuts[49]:.2f} ms, "
          f"p99 {cuts[98]:.2f} ms, max {max(latencies):.2f} ms")


if __name__ == "__main__":
    main()
