"""Parameter types shared by the commands: ids, limits, priorities and durations, checked
against the ranges the databases can hold, so a bad number is a usage error (exit 2) on
every backend instead of an overflow, a database error or SQLite's "-1 means no limit"."""

from __future__ import annotations

import math
from typing import Any

import click

from conveyor.backends import base

ID = click.IntRange(1, base.MAX_ID)
AFTER_ID = click.IntRange(0, base.MAX_ID)
LIMIT = click.IntRange(1, 100_000)
PRIORITY = click.IntRange(-(2**31) + 1, 2**31 - 1)


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
