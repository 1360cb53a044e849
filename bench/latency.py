"""Enqueue-to-start latency at a steady rate: p50 and p99, and where the time goes.

    python -m bench.latency --url sqlite:///bench.db --rate 100 --seconds 10 --processes 2

Worker processes run (idle, waiting for wake-ups); the producer enqueues one job at a time
at `--rate` per second. Every time is read on this machine's clock (`time.time()`), from
what the engine keeps anyway, so the engine runs unchanged:

    enqueue   producer: before the enqueue call -> after it returned (the insert committed)
    wake      enqueue returned -> the claim began (the row's attempted_at, which the worker
              takes as it claims): notification delivery (PostgreSQL) or polling (SQLite);
              below zero when the worker hears of the job before the producer's reply lands
    claim     claim began -> attempt entered (an attempt hook): the claim's transaction and
              the job's task starting
    start     attempt entered -> the job's first line: the executor's own overhead

Latency is enqueue call to the job's first line. The per-stage figures are each stage's p50
(they need not add up to the p50 of the whole), and each stage's mean over the slowest 1% of
jobs (those above the p99): where the tail's time goes.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import statistics
import time

from bench import latency_app, workers
from bench.databases import reset
from conveyor import model

STAGES = ("enqueue", "wake", "claim", "start")


@dataclasses.dataclass
class Latency:
    p50: float
    p99: float
    max: float
    count: int
    stages: dict[str, float]  # p50 of each stage, ms
    tail: dict[str, float] = dataclasses.field(default_factory=dict)
    """Each stage's mean over the jobs slower than the p99, ms."""


def measure(url: str, rate: float, seconds: float, processes: int = 2) -> Latency:
    """Milliseconds from enqueue to start over `rate * seconds` jobs."""
    reset(url)
    app = latency_app.build(url)
    app.migrate()
    stamp = app.registry.get("stamp")
    command = workers.conveyor_command("--queues", "default", app="bench.latency_app:app")
    procs = workers.start(command, url, processes)
    try:
        workers.wait_registered(app, processes)
        count = int(rate * seconds)
        began = time.perf_counter()
        sent: list[tuple[int, float, float]] = []
        for i in range(count):
            time.sleep(max(0.0, began + i / rate - time.perf_counter()))
            called = time.time()
            job_id = stamp.enqueue(called).id
            sent.append((job_id, called, time.time()))
        rows = [_stages(app.wait(job_id, timeout=30), called, returned)
                for job_id, called, returned in sent]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait()
        app.close()
    return summary(rows)


def summary(rows: list[tuple[float, ...]]) -> Latency:
    """p50, p99 and max of the jobs' latencies (the sums of their stages, in ms), each
    stage's p50, and each stage's mean over the jobs slower than the p99."""
    totals = [sum(row) for row in rows]
    cuts = statistics.quantiles(totals, n=100)
    slowest = [row for row, total in zip(rows, totals, strict=True) if total > cuts[98]] \
        or [max(rows, key=sum)]
    return Latency(p50=cuts[49], p99=cuts[98], max=max(totals), count=len(rows),
                   stages={name: statistics.median(row[i] for row in rows)
                           for i, name in enumerate(STAGES)},
                   tail={name: statistics.fmean(row[i] for row in slowest)
                         for i, name in enumerate(STAGES)})


def _stages(job: model.Job, called: float, returned: float) -> tuple[float, ...]:
    """The four stages of one job in ms (they add up to its latency)."""
    assert job.attempted_at is not None, f"job {job.id} has no attempted_at"
    attempted = job.attempted_at.timestamp()
    entered, started = job.result
    marks = (called, returned, attempted, entered, started)
    return tuple((b - a) * 1000 for a, b in itertools.pairwise(marks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="sqlite:///bench.db")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    show("enqueue-to-start", measure(args.url, args.rate, args.seconds, args.processes),
         args.rate)


def show(what: str, got: Latency, rate: float) -> None:
    print(f"{what} over {got.count} jobs at {rate:g}/s: p50 {got.p50:.2f} ms, "
          f"p99 {got.p99:.2f} ms, max {got.max:.2f} ms")
    print("p50 by stage: " + ", ".join(f"{name} {ms:.2f} ms" for name, ms in got.stages.items()))
    print("slowest 1%, mean by stage: "
          + ", ".join(f"{name} {ms:.2f} ms" for name, ms in got.tail.items()))


if __name__ == "__main__":
    main()
