"""Every option, at declaration and per enqueue, with NaN, infinities, huge numbers and wrong
types: each one is refused with a `ConfigurationError` naming the job and the field - never a
`ValueError`, `OverflowError` or `TypeError` from deeper down - and nothing is written."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

import pytest

from conveyor import ConfigurationError, Conveyor, options

NAN, INF = math.nan, math.inf
BAD_SECONDS = [NAN, INF, -INF, 10**12, 10**400, True, "10", None]
"""None is dropped from this list where None means "the default"."""


class Unaware(tzinfo):
    """A tzinfo that does not know its offset: the datetime is not really aware."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None


BAD_OPTIONS: list[tuple[str, Any]] = [
    *(("delay", v) for v in BAD_SECONDS if v is not None), ("delay", -1),
    *(("timeout", v) for v in BAD_SECONDS if v is not None), ("timeout", 0),
    ("priority", NAN), ("priority", 2**31), ("priority", 10**400), ("priority", True),
    ("max_attempts", INF), ("max_attempts", 10**400), ("max_attempts", 1.0),
    ("run_at", datetime(2030, 1, 1)), ("run_at", datetime(2030, 1, 1, tzinfo=Unaware())),
    ("run_at", 1_900_000_000), ("retry_until", "2030-01-01T00:00:00Z"),
    ("cost", 0), ("cost", 2**31), ("cost", 10**400), ("cost", 1.0), ("cost", True),
    ("depends_on", [10**30]), ("depends_on", [0]), ("depends_on", ["1"]), ("depends_on", [NAN]),
    ("on_conflict", ["replace"]), ("on_dependency_failure", {}),
    ("queue", ""), ("queue", "a,b"), ("queue", " sync"), ("queue", "sync "), ("queue", "a\nb"),
    ("queue", "tab\there"), ("queue", "nul\x00"), ("queue", "x" * 129), ("queue", 5),
]


def _short(value: Any) -> str:
    return repr(value)[:24]


@pytest.mark.parametrize(("field", "value"), BAD_OPTIONS, ids=_short)
def test_bad_enqueue_options_are_configuration_errors(field: str, value: Any) -> None:
    app = Conveyor("sqlite:///unused.db")
    job = app.job(name="sync_product")(lambda n=1: None)
    with pytest.raises(ConfigurationError, match=f"job 'sync_product': {field}") as caught:
        job.options(**{field: value})
    assert "invalid" in str(caught.value) or "depends_on holds" in str(caught.value)


@pytest.mark.parametrize(("field", "value"), [
    (f, v) for f, v in BAD_OPTIONS if f not in ("depends_on", "retry_until")], ids=_short)
def test_bad_job_defaults_are_configuration_errors(field: str, value: Any) -> None:
    app = Conveyor("sqlite:///unused.db")
    with pytest.raises(ConfigurationError, match=f"job 'sync_product': {field}="):
        app.job(name="sync_product", **{field: value})(lambda: None)
    assert app.registry.names() == []


def test_queue_names_a_worker_can_address_are_accepted() -> None:
    app = Conveyor("sqlite:///unused.db")
    job = app.job(name="j")(lambda: None)
    for queue in ("sync", "sync_high", "wa:123", "ąę", "with space inside", "x" * 128):
        assert job.options(queue=queue).s().new_job().queue == queue


def test_edges_that_are_valid_still_work() -> None:
    app = Conveyor("sqlite:///unused.db")
    job = app.job(name="j")(lambda: None)
    far, kiribati = datetime(9999, 12, 31, 23, 59, tzinfo=UTC), timezone(timedelta(hours=14))
    for opts in ({"delay": 0}, {"delay": 0.5}, {"delay": options.MAX_SECONDS},
                 {"timeout": 1e-3}, {"priority": -(2**31) + 1}, {"priority": 2**31 - 1},
                 {"run_at": far}, {"run_at": datetime(2030, 1, 1, tzinfo=kiribati)},
                 {"max_attempts": 10_000}, {"depends_on": [2**63 - 1]}):
        assert job.options(**opts).s().new_job().name == "j"


@pytest.mark.parametrize(("config", "fragment"), [
    ({"unique_for": NAN}, "unique_for"), ({"unique_for": INF}, "unique_for"),
    ({"unique_for": 10**400}, "unique_for"), ({"unique_for": True}, "unique_for"),
    ({"unique_states": 5}, "unique_states"), ({"unique_key": "product_id"}, "unique_key"),
    ({"backoff": [NAN]}, "backoff"), ({"backoff": INF}, "backoff"),
    ({"backoff": 10**400}, "backoff"), ({"backoff": [10**12]}, "backoff"),
    ({"backoff": "30"}, "backoff"), ({"backoff": [True]}, "backoff"),
    ({"rate_limit": "1/" + "9" * 5000 + "s"}, "rate"),
    ({"rate_limit": "9" * 5000 + "/s"}, "rate"),
    ({"rate_limit": "1/999999999d"}, "rate"), ({"rate_limit": "2000000000/s"}, "rate"),
    ({"concurrency": 2**31}, "concurrency"), ({"concurrency": INF}, "concurrency"),
    ({"rate_limit": "1/s", "cost": 2**31}, "cost"), ({"rate_limit": "1/s", "cost": NAN}, "cost"),
    ({"on_discard": "print"}, "on_discard"), ({"isolation": ["process"]}, "isolation"),
], ids=_short)
def test_bad_declarations_are_configuration_errors(config: dict[str, Any],
                                                    fragment: str) -> None:
    app = Conveyor("sqlite:///unused.db")
    with pytest.raises(ConfigurationError, match=f"job 'j'.*{fragment}"):
        app.job(name="j", **config)(lambda product_id=1: None)
    assert app.registry.names() == []
