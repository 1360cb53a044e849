"""The current time as a parameter, so tests freeze and advance it instead of sleeping.

Besides `now()`, a clock may offer `monotonic()` (seconds that never go back, for measuring
intervals: the leader's rescue rules) and `moves` (False for a clock that moves only when
told, so nothing waits for it); clocks without them get `now()`'s seconds and True."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """Wall-clock time."""

    moves = True

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class FrozenClock:
    """A clock that moves only when told to (tests)."""

    moves = False

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime.now(UTC)).astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._now.timestamp()

    def advance(self, seconds: float) -> datetime:
        self._now += timedelta(seconds=seconds)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(UTC)


def monotonic(clock: Clock) -> float:
    """Seconds for measuring intervals on `clock`."""
    reading = getattr(clock, "monotonic", None)
    return float(reading()) if callable(reading) else clock.now().timestamp()


def is_wall(clock: Clock) -> bool:
    """Whether `clock` is this host's wall clock (`SystemClock`), not a test's: storage may
    then stamp worker times with the database's own clock, which every host shares, instead
    of each host's (which may disagree by minutes)."""
    return isinstance(clock, SystemClock)


def moves(clock: Clock) -> bool:
    """Whether time passes on `clock` by itself (False: a frozen test clock)."""
    return bool(getattr(clock, "moves", True))
