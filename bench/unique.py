"""Cost of unique jobs at enqueue: `unique_for=3600` with a key per argument.

    python -m bench.unique --url sqlite:///bench.db --jobs 20000

Enqueues `--jobs` new unique jobs one at a time, the same calls again (each a duplicate:
the unique index refuses the row and the existing job is returned), then `--jobs` new ones
in one bulk call. Compare with `bench.throughput`'s plain enqueue figures.
"""

from __future__ import annotations

import argparse
import time

from bench import bench_app
from bench.databases import reset


def enqueue_rates(url: str, n: int) -> dict[str, float]:
    reset(url)
    app = bench_app.build(url)
    app.migrate()
    job = app.registry.get("noop_unique")
    rates = {}
    began = time.perf_counter()
    for i in range(n):
        job.enqueue(i)
    rates["unique: enqueue one, new keys"] = n / (time.perf_counter() - began)
    began = time.perf_counter()
    duplicates = sum(job.enqueue(i).duplicate for i in range(n))
    rates["unique: enqueue one, duplicates"] = n / (time.perf_counter() - began)
    if duplicates != n:
        raise SystemExit(f"unique jobs: {duplicates} of {n} repeats were duplicates")
    calls: list[tuple[tuple[int], dict[str, int]]] = [((i,), {}) for i in range(n, 2 * n)]
    began = time.perf_counter()
    job.enqueue_many(calls)
    rates["unique: enqueue bulk, new keys"] = n / (time.perf_counter() - began)
    app.close()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="sqlite:///bench.db")
    parser.add_argument("--jobs", type=int, default=20_000)
    args = parser.parse_args()
    for name, rate in enqueue_rates(args.url, args.jobs).items():
        print(f"{name:34s} {rate:>10,.0f} jobs/s")


if __name__ == "__main__":
    main()
