"""`model.rows_like`: rows built without `NewJob.__init__` are the rows `__init__` builds."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from conveyor import model

WHEN = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _template() -> model.NewJob:
    """Every field away from its default, so a field left out or swapped shows."""
    return model.NewJob(
        name="send", queue="mail", priority=3, args_json="[]", kwargs_json="{}",
        max_attempts=7, run_at=WHEN, meta_json='{"timeout": 5}', unique_key="k",
        unique_states=6, replace=True, rate_keys_json='[["r", 1.0]]', rate_key="r",
        concurrency_key="c", concurrency_limit=2, cost=4, batch_id=9, depends_on=(1, 2),
        depends_on_rows=(0,), run_on_dependency_failure=True)


def test_a_row_like_the_template_equals_the_row_built_whole() -> None:
    row = model.rows_like(_template())("[1]", '{"a": 2}', WHEN.replace(hour=13))
    whole = dataclasses.replace(_template(), args_json="[1]", kwargs_json='{"a": 2}',
                                run_at=WHEN.replace(hour=13))
    assert type(row) is model.NewJob
    assert row == whole and hash(row) == hash(whole) and repr(row) == repr(whole)
    assert dataclasses.asdict(row) == dataclasses.asdict(whole)


def test_a_row_like_the_template_is_frozen_and_apart_from_the_next() -> None:
    make = model.rows_like(_template())
    first, second = make("[1]", "{}", WHEN), make("[2]", "{}", WHEN)
    assert (first.args_json, second.args_json) == ("[1]", "[2]")
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.queue = "other"  # type: ignore[misc]
