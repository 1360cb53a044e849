"""Operators tune `Settings` without editing code: `CONVEYOR_*` environment variables (read by
every `Conveyor()`) and `conveyor worker` flags override what the code set (flags >
environment > code). Every value is checked here, so a bad one is a clear error naming where
it came from instead of a worker that misbehaves later."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Mapping
from typing import Literal

from conveyor import errors, model
from conveyor.settings import Settings

Kind = Literal["count", "interval", "seconds", "switch", "retention"]
PREFIX = "CONVEYOR_"
KINDS: dict[str, Kind] = {
    "payload_limit": "count", "result_limit": "count", "max_errors": "count",
    "error_limit": "count", "crash_limit": "count",
    "heartbeat_interval": "interval", "lease_timeout": "interval",
    "rescue_interval": "interval", "stage_interval": "interval", "prune_interval": "interval",
    "metrics_interval": "interval",
    "retention": "retention", "metrics_retention": "seconds", "dead_worker_retention": "seconds",
    "auto_migrate": "switch",
}
"""Every `Settings` field, by the kind of value it takes."""
GRACE = "CONVEYOR_GRACE"
"""`conveyor worker --grace` from the environment (a worker setting, not in `Settings`)."""
FINAL = (model.JobState.COMPLETED, model.JobState.CANCELLED, model.JobState.DISCARDED)
LONGEST = 1e9
"""Seconds: about 31 years, as the CLI's other durations."""
_SWITCHES = {"1": True, "true": True, "yes": True, "on": True,
             "0": False, "false": False, "no": False, "off": False}


def env_name(field: str) -> str:
    return PREFIX + field.upper()


def flag_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def from_environment(settings: Settings, environ: Mapping[str, str] | None = None) -> Settings:
    """`settings` with every `CONVEYOR_<FIELD>` found in the environment applied."""
    env = os.environ if environ is None else environ
    given = {field: env[env_name(field)] for field in KINDS if env.get(env_name(field))}
    return tuned(settings, given, source=env_name)


def tuned(settings: Settings, given: Mapping[str, str], *,
          source: Callable[[str], str] = env_name) -> Settings:
    """`settings` with the `given` texts (field -> text) parsed and applied; `source(field)`
    names where a text came from in errors. Raises `ConfigurationError`."""
    if not given:
        return settings
    name = source
    changes: dict[str, object] = {}
    for field, text in given.items():
        try:
            changes[field] = parse(field, text, settings)
        except ValueError as exc:
            raise errors.ConfigurationError(f"{name(field)}={text!r}: {exc}") from None
    result = dataclasses.replace(settings, **changes)  # type: ignore[arg-type]
    check(result, {field: name(field) for field in given})
    return result


def parse(field: str, text: str, settings: Settings) -> object:
    """One field's value from its text; `ValueError` says what was expected."""
    kind = KINDS[field]
    text = text.strip()
    if kind == "count":
        return count(text)
    if kind == "interval":
        return seconds(text, positive=True)
    if kind == "seconds":
        return seconds(text, positive=False)
    if kind == "switch":
        if text.lower() not in _SWITCHES:
            raise ValueError("expected true or false (1/0, yes/no, on/off)")
        return _SWITCHES[text.lower()]
    return retention(text, settings.retention)


def count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError("expected a whole number >= 1") from None
    if not 1 <= value <= 2**31 - 1:
        raise ValueError(f"expected a whole number from 1 to {2**31 - 1}")
    return value


def seconds(text: str, *, positive: bool) -> float:
    """A finite number of seconds, > 0 (`positive`) or >= 0, at most `LONGEST`."""
    rule = f"a number of seconds {'> 0' if positive else '>= 0'}, at most {LONGEST:.0e}"
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected {rule}") from None
    if not math.isfinite(value) or value > LONGEST or value < 0 or (positive and value == 0):
        raise ValueError(f"expected {rule}")
    return value


def retention(text: str, current: tuple[tuple[model.JobState, float], ...]
              ) -> tuple[tuple[model.JobState, float], ...]:
    """`completed=3600,discarded=604800`: seconds kept per final state; states not named
    keep their current retention."""
    kept = dict(current)
    names = ", ".join(state.value for state in FINAL)
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        state_name, equals, amount = part.partition("=")
        state = next((s for s in FINAL if s.value == state_name.strip().lower()), None)
        if not equals or state is None:
            raise ValueError(f"expected STATE=SECONDS[,STATE=SECONDS...] with STATE one of "
                             f"{names}; {part!r} is not")
        kept[state] = seconds(amount, positive=False)
    if not kept:
        raise ValueError(f"expected STATE=SECONDS[,...] with STATE one of {names}")
    return tuple((state, kept[state]) for state in FINAL if state in kept)


def check(settings: Settings, named: Mapping[str, str]) -> None:
    """Rules between fields: a worker must heartbeat well within its lease, or healthy jobs
    are rescued while they run."""
    where = ", ".join(named[f] for f in ("heartbeat_interval", "lease_timeout") if f in named)
    if where and settings.heartbeat_interval * 2 > settings.lease_timeout:
        raise errors.ConfigurationError(
            f"{where}: the heartbeat interval ({settings.heartbeat_interval:g} s) must be at "
            f"most half the lease timeout ({settings.lease_timeout:g} s), or running jobs "
            "are rescued from healthy workers")


def grace(default: float, environ: Mapping[str, str] | None = None) -> float:
    """Seconds running jobs get after SIGTERM: `$CONVEYOR_GRACE`, else `default`."""
    text = (os.environ if environ is None else environ).get(GRACE)
    if not text:
        return default
    try:
        return seconds(text, positive=False)
    except ValueError as exc:
        raise errors.ConfigurationError(f"{GRACE}={text!r}: {exc}") from None
