"""Options at the edges of what is accepted are stored and read back as given, on every
backend; just past the edges they are refused before anything is written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conveyor import (
    BatchNotFound,
    ConfigurationError,
    Conveyor,
    FrozenClock,
    InvalidArguments,
    JobFilter,
    JobNotFound,
    options,
)


def test_extreme_valid_options_round_trip(app: Conveyor, clock: FrozenClock) -> None:
    @app.job(name="edge", rate_limit="1/s", rate_key="k", concurrency=2**31 - 1)
    def edge() -> None: ...

    far = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    jobs = [
        edge.options(run_at=far, priority=2**31 - 1, max_attempts=10_000).enqueue(),
        edge.options(delay=options.MAX_SECONDS, priority=-(2**31) + 1, cost=2**31 - 1,
                     timeout=options.MAX_SECONDS).enqueue(),
        edge.options(retry_until=far, delay=0.25).enqueue(),
    ]
    stored = [app.get(job.id) for job in jobs]
    assert [(j.run_at, j.priority, j.max_attempts) for j in stored[:1]] == \
        [(far, 2**31 - 1, 10_000)]
    assert stored[1].run_at == clock.now() + timedelta(seconds=options.MAX_SECONDS)
    assert stored[1].priority == -(2**31) + 1
    assert stored[1].meta == {"timeout": options.MAX_SECONDS}
    assert stored[2].run_at == clock.now() + timedelta(seconds=0.25)


@pytest.mark.parametrize(("field", "value"), [
    ("delay", float("nan")), ("delay", 10**12), ("timeout", float("inf")), ("priority", 2**31),
    ("queue", "a,b"), ("queue", " padded"), ("cost", 2**31), ("depends_on", [2**63]),
])
def test_values_past_the_edges_write_nothing(app: Conveyor, field: str, value: object) -> None:
    @app.job(name="edge")
    def edge() -> None: ...

    edge.enqueue()
    with pytest.raises(ConfigurationError, match=field):
        edge.options(**{field: value}).enqueue()
    assert len(app.jobs(JobFilter(limit=10))) == 1


def test_calls_that_are_not_calls_are_refused_before_anything_is_written(app: Conveyor) -> None:
    @app.job(name="step")
    def step(n: int = 0) -> None: ...

    refused: list[Callable[[], Any]] = [
        lambda: step.enqueue_many(5),  # type: ignore[arg-type]
        lambda: app.batch(5),  # type: ignore[arg-type]
        lambda: app.batch([step.s(1), 2]),  # type: ignore[list-item]
        lambda: app.batch([step.s(1)], on_success=step),  # type: ignore[arg-type]
        lambda: app.batch([step.s(1)], name=7),  # type: ignore[arg-type]
        lambda: app.chain(step.s(1), step),  # type: ignore[arg-type]
    ]
    for call in refused:
        with pytest.raises(InvalidArguments, match=r"step|job\.s\(|name=7|iterable"):
            call()
    assert app.jobs(JobFilter(limit=10)) == [] and app.batches() == []


@pytest.mark.parametrize("bad_id", [10**30, 0, -1, "1", True, None])
def test_ids_no_job_or_batch_can_have(app: Conveyor, bad_id: Any) -> None:
    with pytest.raises(JobNotFound, match="ids are integers"):
        app.get(bad_id)
    with pytest.raises(BatchNotFound, match="ids are integers"):
        app.add_to_batch(bad_id, [])
    with pytest.raises(BatchNotFound, match="ids are integers"):
        app.get_batch(bad_id)
