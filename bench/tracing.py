"""What timing and tracing every backend call costs: the same calls through the traced backend
and through the bare one, interleaved in one process so a change of the machine's load hits
both sides; prints numbers, asserts nothing.

    python -m bench.tracing --url sqlite:///bench.db --calls 2000 --rounds 5

Measures `get` of one job (the cheapest round trip) and a blocking enqueue of one job, each
`--calls` times per round, alternating traced and bare rounds; then the wrapper's own cost
around a call that does nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from bench import bench_app
from bench.databases import reset
from conveyor import Conveyor, hooks, metrics, tracing
from conveyor.backends import base


def _use(app: Conveyor, traced: bool) -> None:
    """Make the app's open backends the traced ones or the bare ones."""
    for loop, backend in list(app._backends.items()):
        inner = getattr(backend, "inner", backend)
        app._backends[loop] = tracing.traced(inner, app.storage_calls, app.hooks) \
            if traced else inner


def _wrapper_cost(calls: int = 100_000) -> float:
    """Microseconds the wrapper adds to a call that does nothing (no database at all)."""
    class Nothing:
        async def get(self, job_id: int) -> None:
            return None

    bare = Nothing()
    timed = tracing._timed("get", bare.get, metrics.CallTally(), hooks.Hooks())

    async def loop(call: Callable[[int], Awaitable[None]]) -> float:
        started = time.perf_counter()
        for i in range(calls):
            await call(i)
        return time.perf_counter() - started

    # The fastest of several interleaved runs each: the least disturbed by other load.
    runs = [(asyncio.run(loop(timed)), asyncio.run(loop(bare.get))) for _ in range(7)]
    return (min(t for t, _ in runs) - min(b for _, b in runs)) / calls * 1e6


def _rate(run: Callable[[], None], calls: int) -> float:
    started = time.perf_counter()
    run()
    return calls / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="sqlite:///bench.db")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    reset(args.url)
    app = bench_app.build(args.url)
    app.migrate()
    noop = app.registry.get("noop")
    job = noop.enqueue(0)

    async def gets() -> None:
        backend: base.Backend = await app.storage()
        for _ in range(args.calls):
            await backend.get(job.id)

    def get_calls() -> None:
        app.blocking.run(gets)

    def enqueues() -> None:
        for i in range(args.calls):
            noop.enqueue(i)

    figures: dict[tuple[str, bool], list[float]] = {}
    work = {"get": get_calls, "enqueue one": enqueues}
    for _ in range(args.rounds):
        for traced in (True, False):
            _use(app, traced)
            for name, run in work.items():
                figures.setdefault((name, traced), []).append(_rate(run, args.calls))
    app.close()
    for name in work:
        on = statistics.median(figures[(name, True)])
        off = statistics.median(figures[(name, False)])
        overhead_us = (1 / on - 1 / off) * 1e6
        print(f"{name:12s} traced {on:>9,.0f}/s  bare {off:>9,.0f}/s  ({on / off:.1%}; "
              f"{overhead_us:+.1f} us per call, median of {args.rounds} rounds)")
    print(f"the wrapper alone adds {_wrapper_cost():.2f} us to a call that does nothing")


if __name__ == "__main__":
    main()
