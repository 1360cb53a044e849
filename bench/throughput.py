"""Enqueue and processing throughput on one backend; prints numbers, asserts nothing.

    python -m bench.throughput --url sqlite:///bench.db --jobs 20000 --processes 2

1. enqueue one at a time (blocking API and async API), 2. enqueue in bulk, 3. process
`--jobs` queued no-op jobs with `--processes` worker processes; the rate runs from the first
attempt to the last completion, read from the jobs table, and every job is counted completed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def reset(url: str) -> None:
    if url.startswith("sqlite"):
        from conveyor.backends.sqlite.backend import path_of

        for suffix in ("", "-wal", "-shm"):
            Path(path_of(url) + suffix).unlink(missing_ok=True)
    else:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            tables = [row[0] for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename LIKE 'conveyor\\_%'")]
            for table in tables:  # every Conveyor table, whatever the migrations added
                conn.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')


def enqueue_rates(url: str, n: int) -> dict[str, float]:
    os.environ["CONVEYOR_URL"] = url
    from bench import bench_app

    app = bench_app.app
    app.migrate()
    rates = {}
    start = time.perf_counter()
    for i in range(n):
        bench_app.noop.enqueue(i)
    rates["enqueue one (blocking)"] = n / (time.perf_counter() - start)

    async def one_by_one() -> float:
        began = time.perf_counter()
        for i in range(n):
            await bench_app.noop.aenqueue(i)
        await app.aclose()
        return n / (time.perf_counter() - began)

    rates["enqueue one (async)"] = asyncio.run(one_by_one())
    start = time.perf_counter()
    bench_app.noop.enqueue_many([((i,), {}) for i in range(n)])
    rates["enqueue bulk"] = n / (time.perf_counter() - start)
    app.close()
    return rates


def process_rate(url: str, n: int, processes: int, concurrency: int,
                 job_name: str = "noop") -> tuple[float, int]:
    """Queue `n` jobs of `job_name`, work them with burst workers; rate and count done."""
    reset(url)
    os.environ["CONVEYOR_URL"] = url
    from bench import bench_app

    app = bench_app.app
    app.migrate()
    job_type = app.registry.get(job_name)
    for chunk in range(0, n, 10_000):
        job_type.enqueue_many([((i,), {}) for i in range(chunk, min(n, chunk + 10_000))])
    app.close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "conveyor", "--app", "bench.bench_app:app", "worker",
               "--burst", "--concurrency", str(concurrency), "--no-migrate"]
    workers = [subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
               for _ in range(processes)]
    for proc in workers:
        proc.wait()
    first, last, done = _span(url)
    return done / (last - first), done


def _span(url: str) -> tuple[float, float, int]:
    if url.startswith("sqlite"):
        import sqlite3

        from conveyor.backends.sqlite.backend import path_of

        with sqlite3.connect(path_of(url)) as conn:
            lo, hi, count = conn.execute(
                "SELECT min(attempted_at), max(finalized_at), count(*) FROM conveyor_jobs "
                "WHERE state = 'completed'").fetchone()
        return lo / 1e6, hi / 1e6, count
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT extract(epoch FROM min(attempted_at)), extract(epoch FROM max(finalized_at)),"
            " count(*) FROM conveyor_jobs WHERE state = 'completed'").fetchone()
        assert row is not None
        return float(row[0]), float(row[1]), int(row[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="sqlite:///bench.db")
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=200)
    args = parser.parse_args()
    reset(args.url)
    for name, rate in enqueue_rates(args.url, args.jobs).items():
        print(f"{name:28s} {rate:>10,.0f} jobs/s")
    rate, done = process_rate(args.url, args.jobs, args.processes, args.concurrency)
    print(f"{'process no-op':28s} {rate:>10,.0f} jobs/s  ({done} completed, "
          f"{args.processes} processes x concurrency {args.concurrency})")


if __name__ == "__main__":
    main()
