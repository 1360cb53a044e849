"""Helpers for testing code that uses Conveyor, with pytest or without it.

- `attach(app, url, clock)`: point an application (yours, imported from your code) at a test
  database and a frozen clock for the duration, then put it back.
- `drain(app, until=...)`: run every job due up to a moment, moving the frozen clock through
  each one in time order: retries, snoozes, delays, cron slots, dependants and batch callbacks.
- `assert_enqueued`, `assert_not_enqueued`, `enqueued_jobs`: look at the waiting jobs, with
  failure messages that list what *was* enqueued.
- `Harness`: those bound to one app and clock (the `conveyor_harness` pytest fixture).

The pytest plugin (`conveyor.testing.plugin`, registered by entry point) provides the
fixtures `conveyor_url`, `conveyor_clock`, `conveyor_app` and `conveyor_harness`.
"""

from conveyor.testing.assertions import (
    WAITING,
    assert_enqueued,
    assert_not_enqueued,
    enqueued_jobs,
)
from conveyor.testing.attach import attach
from conveyor.testing.clockwork import adrain, drain
from conveyor.testing.harness import START, Harness

__all__ = [
    "START", "WAITING", "Harness", "adrain", "assert_enqueued", "assert_not_enqueued", "attach",
    "drain", "enqueued_jobs",
]
