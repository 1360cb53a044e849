"""Inserting jobs (`Backend.insert`), on every backend."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from conveyor import model
from conveyor.backends import base
from conveyor.model import JobState as S
from tests.conftest import raw
from tests.contract.seam import NOW, new


async def test_insert_sets_state_from_run_at_and_keeps_order(backend: base.Backend) -> None:
    rows = [new(args=[1]), new(run_at=NOW + timedelta(seconds=60), args=[2]), new(args=[3])]
    inserted = await backend.insert(rows, NOW)
    assert [i.state for i in inserted] == [S.AVAILABLE, S.SCHEDULED, S.AVAILABLE]
    assert inserted[0].id < inserted[1].id < inserted[2].id
    for row, done in zip(rows, inserted, strict=True):
        job = await backend.get(done.id)
        assert job is not None
        assert job.args == orjson.loads(row.args_json)
        assert job.state == done.state and job.attempt == 0 and job.max_attempts == 3
        assert job.run_at == row.run_at and job.inserted_at == NOW


async def test_insert_is_all_or_none(backend: base.Backend, url: str) -> None:
    bad = model.NewJob(name="job", queue="default", priority=0, args_json="[]",
                       kwargs_json="{}", max_attempts=0, run_at=NOW)  # violates CHECK
    with pytest.raises(Exception, match=r"(?i)check|constraint"):
        await backend.insert([new(), bad], NOW)
    assert raw(url, "SELECT count(*) FROM conveyor_jobs")[0][0] == 0


@pytest.mark.parametrize("statement", [
    "UPDATE conveyor_jobs SET state = 'completed'",            # final without finalized_at
    "UPDATE conveyor_jobs SET state = 'bogus'",                # unknown state
    "UPDATE conveyor_jobs SET attempt = 99",                   # attempt > max_attempts
    "UPDATE conveyor_jobs SET state = 'running', attempt = 0",  # running without an attempt
])
async def test_database_enforces_the_invariants(backend: base.Backend, url: str,
                                                statement: str) -> None:
    await backend.insert([new()], NOW)
    with pytest.raises(Exception, match=r"(?i)check|constraint"):
        raw(url, statement)
