"""Enqueue and processing throughput on one backend; prints numbers, asserts nothing.

    python -m bench.throughput --url sqlite:///bench.db --jobs 20000 --processes 2

1. enqueue one at a time (blocking API, async API, and 50 async callers at once on one event
loop, as a web service's request handlers would), 2. enqueue in bulk, 3. process
`--jobs` queued no-op jobs with `--processes` worker processes; the rate runs from the first
attempt to the last completion, read from the jobs table, and every job is counted completed.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import time
from collections.abc import Callable

from bench import bench_app, databases, workers
from bench.databases import reset

__all__ = ["ProcessRun", "enqueue_rates", "process_rate", "reset", "run_workers"]
CALLERS = 50
CONCURRENT = f"enqueue one, {CALLERS} concurrent async callers"


def enqueue_rates(url: str, n: int) -> dict[str, float]:
    """Jobs/s enqueueing `n` no-ops one at a time (blocking, async, `CALLERS` async callers
    at once) and in one call."""
    app = bench_app.build(url)
    app.migrate()
    noop = app.registry.get("noop")
    rates = {}
    start = time.perf_counter()
    for i in range(n):
        noop.enqueue(i)
    rates["enqueue one (blocking)"] = n / (time.perf_counter() - start)

    async def one_by_one() -> float:
        began = time.perf_counter()
        for i in range(n):
            await noop.aenqueue(i)
        await app.aclose()
        return n / (time.perf_counter() - began)

    rates["enqueue one (async)"] = asyncio.run(one_by_one())

    async def side_by_side() -> float:
        """`CALLERS` tasks, each enqueueing its share one at a time."""
        share = max(1, n // CALLERS)

        async def caller(first: int) -> None:
            for i in range(first, first + share):
                await noop.aenqueue(i)

        await app.storage()
        began = time.perf_counter()
        await asyncio.gather(*(caller(k * share) for k in range(CALLERS)))
        elapsed = time.perf_counter() - began
        await app.aclose()
        return share * CALLERS / elapsed

    rates[CONCURRENT] = asyncio.run(side_by_side())
    calls: list[tuple[tuple[int], dict[str, int]]] = [((i,), {}) for i in range(n)]
    start = time.perf_counter()
    noop.enqueue_many(calls)
    rates["enqueue bulk"] = n / (time.perf_counter() - start)
    app.close()
    return rates


@dataclasses.dataclass
class ProcessRun:
    rate: float
    done: int
    rss: list[workers.Rss]
    rates: list[float] = dataclasses.field(default_factory=list)
    """Every run's rate where the figure is the median of several (`median_of`)."""


def median_of(runs: list[ProcessRun]) -> ProcessRun:
    """The run of median rate, with every run's rate, and as `done` the fewest jobs any run
    completed (so a caller's "all completed?" check covers every run). A 20,000-job run lasts
    half a second on SQLite: single runs of one figure spread by a quarter on this machine,
    so the figures read against each other (deep backlog, big table vs empty) are medians."""
    ranked = sorted(runs, key=lambda run: run.rate)
    middle = ranked[(len(ranked) - 1) // 2]
    return dataclasses.replace(middle, rates=[run.rate for run in runs],
                               done=min(run.done for run in runs))


def process_rate(url: str, n: int, processes: int, concurrency: int, job_name: str = "noop",
                 prefill: int = 0, sample_rss: bool = False,
                 ready: Callable[[], object] | None = None, repeats: int = 1) -> ProcessRun:
    """Queue `n` jobs of `job_name` (after `prefill` completed ones), work them with burst
    workers; the rate from first start to last finish and how many completed. `ready` is
    called once the jobs are queued, before the workers start. With `repeats`, the same
    again on the same table (each run's jobs join the finished ones) and the median run."""
    reset(url)
    app = bench_app.build(url)
    app.migrate()
    app.close()
    if prefill:
        databases.fill_finished(url, prefill)
    runs = []
    for repeat in range(repeats):
        after = databases.max_id(url)
        app = bench_app.build(url)
        job_type = app.registry.get(job_name)
        for chunk in range(0, n, 10_000):
            job_type.enqueue_many([((i,), {}) for i in range(chunk, min(n, chunk + 10_000))])
        app.close()
        if ready is not None and repeat == 0:
            ready()
        command = workers.conveyor_command("--burst", "--concurrency", str(concurrency))
        runs.append(run_workers(url, command, processes, n, sample_rss,
                                functools.partial(databases.span, url, after)))
    return median_of(runs)


def run_workers(url: str, command: list[str], processes: int, n: int, sample_rss: bool,
                read_span: Callable[[], tuple[float, float, int]]) -> ProcessRun:
    """Start `processes` burst workers, wait for them, read the span back (a callable
    returning first start, last finish, count)."""
    procs = workers.start(command, url, processes)
    sampler = workers.Sampler([p.pid for p in procs]) if sample_rss else None
    if sampler:
        sampler.start()
    workers.wait_all(procs, timeout=60 + n / 200)
    if sampler:
        sampler.stop()
    first, last, done = read_span()
    rss = sampler.summary(first, last) if sampler else []
    return ProcessRun(rate=done / (last - first) if last > first else 0.0, done=done, rss=rss)


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
    run = process_rate(args.url, args.jobs, args.processes, args.concurrency)
    print(f"{'process no-op':28s} {run.rate:>10,.0f} jobs/s  ({run.done} completed, "
          f"{args.processes} processes x concurrency {args.concurrency})")


if __name__ == "__main__":
    main()
