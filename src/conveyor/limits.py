"""Rate and concurrency limits per key, shared by every worker: declaration and admission.

Limits are admission control: a job that may not start yet stays `available` (its key is
marked blocked until its next slot, so claims skip it cheaply) and never uses an attempt.

Rates are enforced with strict spacing (GCRA without burst): "10/s" admits one job every
0.1 s (plus a small margin), which guarantees at most N starts in *any* sliding window of the
period even when real start times jitter a little. A job's `cost` takes that many slots.
The algorithm lives here, in Python; backends only read and write key states.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from conveyor import arguments, errors, options

MARGIN_SECONDS = 0.05
"""Added to each period before dividing it into slots: covers jitter between a job's
admission and its real start, so N+1 starts never fit in one period."""

_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600,
          "hour": 3600, "d": 86_400, "day": 86_400}
_SPEC = re.compile(r"^\s*([0-9]{1,10})\s*/\s*([0-9]{0,10})\s*([a-z]+?)s?\s*$")
MAX_COUNT = 10**9

KeyFunction = Callable[..., Any]
MAX_COST = options.MAX_INT32
"""Slots one job may take, and the largest concurrency limit: stored as 32-bit integers."""


@dataclasses.dataclass(frozen=True, slots=True)
class Rate:
    """At most `spec` (e.g. "80/s", "250000/d", "5/10m") starts per key.

    `spec` may also be a function of the job's arguments, like `key`, for rates known only
    per call (each sending account its own throughput): the rate is read when the job is
    enqueued and kept on its row, so a changed rate applies to jobs enqueued after it."""

    spec: str | KeyFunction
    key: KeyFunction | str | None = None

    def interval(self, job: str) -> float:
        """Seconds per slot of a fixed spec (see `interval_of`)."""
        if callable(self.spec):
            raise errors.ConfigurationError(f"job {job!r}: this rate is given per call")
        return interval_of(self.spec, job)


def interval_of(spec: str, job: str) -> float:
    """Seconds per slot of a rate: strict spacing plus the margin."""
    count, period = parse_rate(spec, job)
    return (period + MARGIN_SECONDS) / count


@dataclasses.dataclass(frozen=True, slots=True)
class Concurrency:
    """At most `limit` running jobs per key at any moment, across all workers."""

    limit: int
    key: KeyFunction | str | None = None


Limit = Rate | Concurrency


def parse_rate(spec: str, job: str) -> tuple[int, float]:
    """"80/s" -> (80, 1.0); "5/10m" -> (5, 600.0). Raises naming the job and the value."""
    match = _SPEC.match(spec.lower()) if isinstance(spec, str) else None
    unit = _UNITS.get(match[3]) if match else None
    period = int(match[2] or 1) * unit if match and unit else 0
    if match is None or not 1 <= int(match[1]) <= MAX_COUNT \
            or not 0 < period <= options.MAX_SECONDS:
        raise errors.ConfigurationError(
            f"job {job!r}: rate {spec!r:.60} is invalid; write COUNT/UNIT like '10/s', "
            f"'80/s', '500/m', '250000/d' or '5/10m' (count from 1 to {MAX_COUNT}; units s, "
            "m, h, d; a period of at most a century)")
    return int(match[1]), float(period)


@dataclasses.dataclass(frozen=True, slots=True)
class JobLimits:
    """The limits of one job type, resolved per call into keys for storage."""

    rates: tuple[Rate, ...] = ()
    concurrency: Concurrency | None = None
    cost: Callable[..., int] | int = 1
    _plan: tuple[tuple[KeyFunction | str | None, str, str, float], ...] = dataclasses.field(
        init=False, repr=False, compare=False, default=())
    """Per rate with a fixed spec, worked out once: (key, its name in errors, key suffix,
    interval). A spec given as a function is worked out per call."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_plan", tuple(
            (rate.key, f"the key of rate {_label(rate)}",
             "" if callable(rate.spec) else f"@{rate.spec}",
             0.0 if callable(rate.spec) else interval_of(rate.spec, ""))
            for rate in self.rates))

    def functions(self) -> list[tuple[str, KeyFunction]]:
        """The functions of the job's arguments among these limits, with how they are named
        in errors."""
        found: list[tuple[str, KeyFunction]] = [
            (f"the key of rate {_label(rate)}", rate.key) for rate in self.rates
            if callable(rate.key)]
        found += [(f"the spec of rate {_label(rate)}", rate.spec) for rate in self.rates
                  if callable(rate.spec)]
        if self.concurrency is not None and callable(self.concurrency.key):
            found.append(("concurrency_key", self.concurrency.key))
        if callable(self.cost):
            found.append(("cost", self.cost))
        return found

    def resolve(self, job: str, named: Mapping[str, Any] | None,
                cost: int | None) -> ResolvedLimits:
        """Keys and cost of one call; `named` is the call's arguments by name (see
        `arguments`), needed when `functions()` is not empty."""
        rate_keys = [(_key(job, label, key, named) + suffix, interval)
                     if suffix else _per_call(job, rate, _key(job, label, key, named), named)
                     for rate, (key, label, suffix, interval) in zip(self.rates, self._plan,
                                                                     strict=True)]
        concurrency_key = None if self.concurrency is None else \
            _key(job, "concurrency_key", self.concurrency.key, named)
        units = cost if cost is not None else (
            arguments.call(job, "cost", self.cost, named or {}) if callable(self.cost)
            else self.cost)
        if type(units) is not int or not 1 <= units <= MAX_COST:
            raise errors.InvalidArguments(f"job {job!r}: cost must be an integer from 1 to "
                                          f"{MAX_COST}, got {units!r:.60}")
        return ResolvedLimits(tuple(rate_keys), concurrency_key,
                              None if self.concurrency is None else self.concurrency.limit,
                              units)


@dataclasses.dataclass(frozen=True, slots=True)
class ResolvedLimits:
    rate_keys: tuple[tuple[str, float], ...]
    concurrency_key: str | None
    concurrency_limit: int | None
    cost: int


def _label(rate: Rate) -> str:
    return "given per call" if callable(rate.spec) else repr(rate.spec)


def _per_call(job: str, rate: Rate, key: str,
              named: Mapping[str, Any] | None) -> tuple[str, float]:
    """The storage key and interval of a rate whose spec is a function of the arguments."""
    assert callable(rate.spec)
    spec = arguments.call(job, "the spec of rate given per call", rate.spec, named or {})
    try:
        return f"{key}@{spec}", interval_of(spec, job)
    except errors.ConfigurationError as exc:
        raise errors.InvalidArguments(str(exc)) from None


def _key(job: str, label: str, spec: KeyFunction | str | None,
         named: Mapping[str, Any] | None) -> str:
    if spec is None:
        return job
    if isinstance(spec, str):
        return spec
    return str(arguments.call(job, label, spec, named or {}))


def declare(job: str, config: dict[str, Any]) -> JobLimits | None:
    """Pop limit options from `@app.job(...)`: rate_limit/rate_key, concurrency/
    concurrency_key, limits=[...], cost. Validates everything now (registration time)."""
    given = config.pop("limits", None)
    if isinstance(given, Rate | Concurrency):
        given = [given]
    elif given is not None and not isinstance(given, list | tuple):
        raise errors.ConfigurationError(
            f"job {job!r}: limits={given!r:.60} is invalid; it takes a Rate(...), a "
            "Concurrency(...) or a list of them")
    declared: list[Limit] = list(given or ())
    rate, rate_key = config.pop("rate_limit", None), config.pop("rate_key", None)
    if rate is not None:
        declared.append(Rate(rate, rate_key))
    limit, limit_key = config.pop("concurrency", None), config.pop("concurrency_key", None)
    if limit is not None:
        declared.append(Concurrency(limit, limit_key))
    cost = config.pop("cost", 1)
    if not (callable(cost) or (type(cost) is int and 1 <= cost <= MAX_COST)):
        raise errors.ConfigurationError(f"job {job!r}: cost={cost!r:.60} is invalid; an "
                                        f"integer from 1 to {MAX_COST} or a function of the "
                                        "job's arguments")
    if not declared:
        return None
    rates = tuple(item for item in declared if isinstance(item, Rate))
    pools = [item for item in declared if isinstance(item, Concurrency)]
    for item in declared:
        _check(job, item)
    if len(pools) > 1:
        raise errors.ConfigurationError(f"job {job!r}: at most one concurrency limit")
    return JobLimits(rates, pools[0] if pools else None, cost)


def _check(job: str, item: Any) -> None:
    if isinstance(item, Rate):
        if not callable(item.spec):
            parse_rate(item.spec, job)
    elif isinstance(item, Concurrency):
        if type(item.limit) is not int or not 1 <= item.limit <= MAX_COST:
            raise errors.ConfigurationError(
                f"job {job!r}: concurrency limit {item.limit!r:.60} is invalid; an integer "
                f"from 1 to {MAX_COST}")
    else:
        raise errors.ConfigurationError(
            f"job {job!r}: limits must be Rate(...) or Concurrency(...), got {item!r:.60}")
    key = getattr(item, "key", None)
    if key is not None and not (isinstance(key, str) or callable(key)):
        raise errors.ConfigurationError(f"job {job!r}: a limit key is a string or a function")


# -- admission ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Candidate:
    """An available job a claim may start, with what its limits need to know."""

    id: int
    order: tuple[Any, ...]
    rate_keys: tuple[tuple[str, float], ...] = ()
    cost: int = 1
    concurrency_key: str | None = None
    concurrency_limit: int | None = None


@dataclasses.dataclass(slots=True)
class KeyState:
    """A rate key: next free slot (`tat`, epoch seconds) and until when it is blocked."""

    tat: float = 0.0
    blocked_until: float = 0.0
    paused: bool = False


def admit(candidates: Sequence[Candidate], keys: dict[str, KeyState],
          running: Mapping[str, int], limit: int, now: float) -> list[int]:
    """Pick up to `limit` candidates in order that every limit allows; update `keys` in
    place (next slots, blocked-until) for the caller to persist."""
    admitted: list[int] = []
    started: dict[str, int] = {}
    for cand in sorted(candidates, key=lambda c: c.order):
        if len(admitted) >= limit:
            break
        if cand.concurrency_key is not None and cand.concurrency_limit is not None:
            busy = running.get(cand.concurrency_key, 0) + started.get(cand.concurrency_key, 0)
            if busy >= cand.concurrency_limit:
                continue
        states = [keys.setdefault(key, KeyState()) for key, _ in cand.rate_keys]
        if any(s.paused or s.blocked_until > now or s.tat > now for s in states):
            for state in states:
                state.blocked_until = max(state.blocked_until, state.tat)
            continue
        for state, (_, interval) in zip(states, cand.rate_keys, strict=True):
            state.tat = max(state.tat, now) + cand.cost * interval
            state.blocked_until = state.tat
        if cand.concurrency_key is not None:
            started[cand.concurrency_key] = started.get(cand.concurrency_key, 0) + 1
        admitted.append(cand.id)
    return admitted
