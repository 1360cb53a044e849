"""`Harness`: the testing helpers bound to one application and its frozen clock.

What the `conveyor_harness` fixture hands a test: `drain(until=...)`, `advance(seconds)` and
the assertions, with the application as the default target.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from conveyor import model
from conveyor.app import Conveyor
from conveyor.clock import FrozenClock
from conveyor.testing import assertions, clockwork

START = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
"""Where the fixtures' frozen clock starts: a fixed moment (a Monday, 09:00 UTC), so cron
slots and unique windows fall the same way on every run."""


@dataclasses.dataclass
class Harness:
    """An application under test and the frozen clock it tells time by."""

    app: Conveyor
    clock: FrozenClock

    def drain(self, until: clockwork.Moment | None = None, *,
              queues: Sequence[str] | None = None, concurrency: int = 10) -> int:
        """Run everything due now, or up to `until` (a datetime, or seconds/timedelta from
        now) moving the clock through each due moment; returns the attempts run."""
        return clockwork.drain(self.app, until, queues=queues, concurrency=concurrency)

    async def adrain(self, until: clockwork.Moment | None = None, *,
                     queues: Sequence[str] | None = None, concurrency: int = 10) -> int:
        return await clockwork.adrain(self.app, until, queues=queues, concurrency=concurrency)

    def advance(self, seconds: float | timedelta) -> datetime:
        """Move the clock forward without running anything; returns the new now."""
        step = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        return self.clock.advance(step.total_seconds())

    def now(self) -> datetime:
        return self.clock.now()

    def enqueued_jobs(self, target: assertions.Target | None = None,
                      args: Sequence[Any] | None = None,
                      kwargs: Mapping[str, Any] | None = None, **criteria: Any
                      ) -> list[model.Job]:
        return assertions.enqueued_jobs(self._target(target), args, kwargs, **criteria)

    def assert_enqueued(self, target: assertions.Target | None = None,
                        args: Sequence[Any] | None = None,
                        kwargs: Mapping[str, Any] | None = None, **criteria: Any
                        ) -> list[model.Job]:
        return assertions.assert_enqueued(self._target(target), args, kwargs, **criteria)

    def assert_not_enqueued(self, target: assertions.Target | None = None,
                            args: Sequence[Any] | None = None,
                            kwargs: Mapping[str, Any] | None = None, **criteria: Any) -> None:
        assertions.assert_not_enqueued(self._target(target), args, kwargs, **criteria)

    def jobs(self, states: Iterable[model.JobState] = tuple(model.JobState)) -> list[model.Job]:
        """Every job of the app in `states` (default: all), oldest first."""
        return assertions.enqueued_jobs(self.app, states=states)

    def _target(self, target: assertions.Target | None) -> assertions.Target:
        return self.app if target is None else target
