"""PostgreSQL across a network: the processing and latency figures through a delay proxy.

    python -m bench.network --url postgresql://postgres@127.0.0.1:5432/bench --delays 0,0.25,1

Workers, producer and raw floor all reach the database through `bench.netdelay`, which adds
a one-way delay to every chunk (1 ms one-way is a 2 ms round trip: workers in another
rack). At each delay: the raw floor's processing, Conveyor's processing of the same number of
jobs, enqueue-to-start latency with its stages, and the raw latency floor's (`bench.floor.
latency`, a shorter run). Each delay is read against the proxy at 0 ms, so the proxy's own
cost cancels out; the 0 ms run is also read against the direct one. The round trips a delay
adds to the latency p50 are Conveyor's against the floor's: what the floor pays too is the
network's (and the proxy's), not the engine's. A plain `SELECT 1`'s round trip at each delay
says what one turn really costs through the proxy: its timers wake late on a loaded machine,
so a turn at 1 ms one-way costs more than 2 ms over the 0 ms run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from bench import floor, latency, netdelay, throughput
from bench.floor import latency as floor_latency

DELAYS = (0.0, 0.25, 1.0)
"""One-way delays in ms: none, a fast LAN, a 2 ms round trip (the issue's target)."""
FLOOR_SECONDS = 5.0
"""The raw latency floor's run at each delay: its p50 settles well within 500 jobs."""


def round_trip(url: str, count: int = 300, pause: float = 0.002) -> float:
    """p50 ms of a prepared `SELECT 1`'s round trip: what one turn really costs through the
    proxy (its own hop and timers on top of the delay), so a latency's ms over the base can
    be read as round trips."""
    times: list[float] = []
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(count):
            began = time.perf_counter()
            conn.execute("SELECT 1", prepare=True).fetchone()
            times.append(time.perf_counter() - began)
            time.sleep(pause)
    return statistics.median(times) * 1000


def key(delay: float, figure: str) -> str:
    return f"net {delay:g} ms: {figure}"


def measure(url: str, jobs: int, processes: int, concurrency: int, rate: float,
            seconds: float, delays: Sequence[float] = DELAYS,
            say: Callable[[str], None] = print,
            floor_seconds: float = FLOOR_SECONDS) -> dict[str, Any]:
    """Figures by `key(delay, name)`: floor process, process, latency p50/p99 and p50 by
    stage, the floor's latency the same, a plain round trip's p50; for each delay after the
    first, each as a fraction of the first delay's."""
    out: dict[str, Any] = {}
    for delay in delays:
        with netdelay.proxied(url, delay) as via:
            say(f"    {delay:g} ms one-way: round trip, raw floor, process, latency, "
                "raw latency floor")
            out[key(delay, "round trip p50")] = round_trip(via)
            out[key(delay, "floor process")] = floor.process(
                url, jobs, processes, worker_url=via)["process"]
            run = throughput.process_rate(via, jobs, processes, concurrency)
            if run.done != jobs:
                raise RuntimeError(f"only {run.done} of {jobs} jobs completed at {delay:g} ms")
            out[key(delay, "process")] = run.rate
            got = latency.measure(via, rate, seconds, processes)
            out[key(delay, "latency p50")], out[key(delay, "latency p99")] = got.p50, got.p99
            out[key(delay, "latency stages")] = got.stages
            raw = floor_latency.measure(via, rate, floor_seconds, processes)
            out[key(delay, "floor latency p50")] = raw.p50
            out[key(delay, "floor latency p99")] = raw.p99
            out[key(delay, "floor latency stages")] = raw.stages
    compare(out, delays)
    for delay in delays[1:]:
        def over(figure: str, delay: float = delay) -> float:
            return float(out[key(delay, f"{figure} over {delays[0]:g} ms")])

        say(f"    {delay:g} ms one-way, p50 over {delays[0]:g} ms: a round trip "
            f"+{over('round trip p50'):.2f} ms; latency: Conveyor +{over('latency p50'):.2f} ms,"
            f" raw floor +{over('floor latency p50'):.2f} ms")
    return out


def compare(out: dict[str, Any], delays: Sequence[float]) -> None:
    """Add each delay's figures as fractions of the first delay's, and its latency p50 as
    milliseconds over the first's (the issue's target counts round trips)."""
    base = delays[0]
    for delay in delays[1:]:
        for figure in ("process", "latency p50", "latency p99"):
            out[key(delay, f"{figure} vs {base:g} ms")] = (
                out[key(delay, figure)] / out[key(base, figure)])
        for figure in ("round trip p50", "latency p50", "floor latency p50"):
            if key(delay, figure) in out:  # the floor's: a run from before it was measured
                out[key(delay, f"{figure} over {base:g} ms")] = (
                    out[key(delay, figure)] - out[key(base, figure)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="a PostgreSQL database (emptied)")
    parser.add_argument("--delays", default=",".join(f"{d:g}" for d in DELAYS),
                        help="one-way delays in ms, comma-separated; the first is the base")
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--floor-seconds", type=float, default=FLOOR_SECONDS,
                        help="the raw latency floor's run at each delay")
    args = parser.parse_args()
    delays = [float(d) for d in args.delays.split(",")]
    got = measure(args.url, args.jobs, args.processes, args.concurrency, args.rate,
                  args.seconds, delays, floor_seconds=args.floor_seconds)
    for name, value in got.items():
        print(f"{name:40s} {value}")


if __name__ == "__main__":
    main()
