"""Parameter types shared by the commands: ids, limits, priorities and durations, checked
against the ranges the databases can hold, so a bad number is a usage error (exit 2) on
every backend instead of an overflow, a database error or SQLite's "-1 means no limit"."""

from __future__ import annotations

import getpass
import math
from datetime import datetime
from typing import Any

import click

from conveyor.backends import base

ID = click.IntRange(1, base.MAX_ID)
AFTER_ID = click.IntRange(0, base.MAX_ID)
LIMIT = click.IntRange(1, 100_000)
PRIORITY = click.IntRange(-(2**31) + 1, 2**31 - 1)
ACTOR = click.option("--actor", default=lambda: f"cli:{getpass.getuser()}",
                     help="Recorded in the audit table.")
"""`--actor` of every operator action: who the audit table names (default `cli:<login>`)."""


class Seconds(click.FloatRange):
    """A finite number of seconds from 0 to about 31 years (`nan` and `inf` are refused)."""

    name = "seconds"

    def __init__(self, *, min_open: bool = False) -> None:
        super().__init__(0, 1e9, min_open=min_open)

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        seconds: float = super().convert(value, param, ctx)
        if not math.isfinite(seconds):
            self.fail(f"{value!r} is not a finite number of seconds", param, ctx)
        return seconds


class AwareTime(click.DateTime):
    """An ISO date and time with a UTC offset (`2026-05-01T09:00:00+02:00`): a time without
    one would mean whatever zone the machine happens to be in."""

    name = "time"

    def __init__(self) -> None:
        super().__init__(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M:%S",
                          "%Y-%m-%d %H:%M:%S"])

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> datetime:
        when: datetime = super().convert(value, param, ctx)
        if when.tzinfo is None:
            self.fail(f"{value!r} has no UTC offset; give one, e.g. 2026-05-01T09:00:00+02:00",
                      param, ctx)
        return when
