"""Cost of flow control: no-op jobs with and without a rate limit, side by side.

    python -m bench.limits --url sqlite:///bench.db --jobs 20000

The limited jobs spread over 500 keys at 100/s each, so the limit itself is never the
bottleneck: the difference is what admission (key lookups, slot updates) costs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from bench import throughput


def run(url: str, name: str, jobs: int, processes: int, concurrency: int) -> float:
    throughput.reset(url)
    os.environ["CONVEYOR_URL"] = url
    from bench import bench_app

    app = bench_app.app
    app.migrate()
    job_type = app.registry.get(name)
    for chunk in range(0, jobs, 10_000):
        job_type.enqueue_many([((i,), {}) for i in range(chunk, min(jobs, chunk + 10_000))])
    app.close()
    command = [sys.executable, "-m", "conveyor", "--app", "bench.bench_app:app", "worker",
               "--burst", "--concurrency", str(concurrency), "--no-migrate"]
    env = {**os.environ, "PYTHONPATH": str(throughput.ROOT)}
    workers = [subprocess.Popen(command, cwd=throughput.ROOT, env=env,
                                stderr=subprocess.DEVNULL) for _ in range(processes)]
    for proc in workers:
        proc.wait()
    first, last, done = throughput._span(url)
    assert done == jobs, f"only {done} of {jobs} completed"
    return done / (last - first)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="sqlite:///bench.db")
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=200)
    args = parser.parse_args()
    plain = run(args.url, "noop", args.jobs, args.processes, args.concurrency)
    limited = run(args.url, "noop_limited", args.jobs, args.processes, args.concurrency)
    print(f"{'unlimited no-op':24s} {plain:>10,.0f} jobs/s")
    print(f"{'rate-limited no-op':24s} {limited:>10,.0f} jobs/s  ({limited / plain:.0%} of "
          f"unlimited; 500 keys x 100/s)")


if __name__ == "__main__":
    main()
