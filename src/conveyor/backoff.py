"""When a failed job runs again: a fixed list of delays, or exponential with jitter."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence

from conveyor import options

BackoffPolicy = Callable[[int], float]
"""Maps the attempt that just failed (1-based) to seconds until the next one."""


def exponential(base: float = 15.0, factor: float = 2.0, cap: float = 24 * 3600.0,
                jitter: float = 0.1, rng: random.Random | None = None) -> BackoffPolicy:
    """`base * factor**(attempt-1)` capped at `cap`, spread by +/- `jitter` (a fraction)."""
    pick = (rng or random.Random()).uniform

    def delay(attempt: int) -> float:
        raw = min(cap, base * factor ** max(0, attempt - 1))
        return max(0.0, raw * (1.0 + pick(-jitter, jitter)))

    return delay


def from_list(delays: Sequence[float]) -> BackoffPolicy:
    """Attempt n waits `delays[n-1]`; attempts past the end reuse the last delay."""
    if not delays:
        raise ValueError("a backoff list needs at least one delay")
    if not all(options.is_seconds(d, positive=False) for d in delays):
        raise ValueError(f"backoff delays are numbers of seconds from 0 to "
                         f"{options.MAX_SECONDS}, got {list(delays)!r:.80}")
    fixed = [float(d) for d in delays]

    def delay(attempt: int) -> float:
        return fixed[min(len(fixed), max(1, attempt)) - 1]

    return delay


def resolve(spec: BackoffPolicy | Sequence[float] | float | None) -> BackoffPolicy:
    """Turn what a user wrote in `@app.job(backoff=...)` into a policy."""
    if spec is None:
        return exponential()
    if isinstance(spec, int | float):
        return from_list([spec])
    if callable(spec):
        return spec
    if isinstance(spec, str | bytes) or not isinstance(spec, Iterable):
        raise ValueError(f"use a number of seconds, a list of them or a function of the "
                         f"attempt, got {spec!r:.60}")
    return from_list(list(spec))
