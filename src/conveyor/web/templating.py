"""The template environment: autoescaping always on, and the filters pages share.

Values reach templates as data and are escaped by Jinja; job arguments, results and meta pass
through `conveyor.redact` first (`shown` filter) so secrets never reach the HTML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import orjson

from conveyor import redact

TEMPLATES = Path(__file__).parent / "templates"


def environment(extra: Mapping[str, Path]) -> jinja2.Environment:
    """Built-in templates by name ("jobs.html"), and each extension's as "<slug>/<file>"."""
    loader = jinja2.ChoiceLoader([
        jinja2.FileSystemLoader(TEMPLATES),
        jinja2.PrefixLoader({slug: jinja2.FileSystemLoader(path)
                             for slug, path in extra.items()}),
    ])
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(when=when, ago=ago, duration=duration, shown=shown, joined=joined)
    return env


def when(moment: datetime | None) -> str:
    """UTC, to the second: `2026-05-01 09:00:00`."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def ago(moment: datetime | None, now: datetime) -> str:
    """`3 min ago` or `in 20 s`."""
    if moment is None:
        return "-"
    delta = (now - moment).total_seconds()
    text = duration(abs(delta))
    return f"{text} ago" if delta >= 0 else f"in {text}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for size, unit in ((86_400, "d"), (3_600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}".replace(".0 ", " ")
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s".replace(".0 ", " ")


def shown(data: Any, indent: bool = False) -> str:
    """JSON text of `data` with every value under a secret-looking key masked."""
    option = orjson.OPT_INDENT_2 if indent else 0
    return orjson.dumps(redact.value(data), option=option | orjson.OPT_NON_STR_KEYS,
                        default=str).decode()


def joined(values: Sequence[Any]) -> str:
    return ", ".join(str(v) for v in values) or "-"
