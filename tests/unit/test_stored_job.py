"""A job read from storage decodes its JSON columns on first read and behaves as any Job."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from conveyor import encoding, model, storedjob

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _values(args: Any = "[1, 2]", kwargs: Any = '{"a": 1}', meta: Any = '{"timeout": 5}',
            errors: Any = "[]", result: Any = None) -> list[Any]:
    row = {"id": 7, "name": "send", "queue": "mail", "state": model.JobState.RUNNING,
           "priority": 0, "args": args, "kwargs": kwargs, "meta": meta, "attempt": 1,
           "max_attempts": 3, "run_at": NOW, "inserted_at": NOW, "attempted_at": NOW,
           "finalized_at": None, "attempted_by": "w", "errors": errors, "result": result,
           "rate_keys": (), "batch_id": None}
    return [row[name] for name in storedjob.STORED_COLUMNS]


def _plain() -> model.Job:
    return model.Job(id=7, name="send", queue="mail", state=model.JobState.RUNNING, priority=0,
                     args=[1, 2], kwargs={"a": 1}, meta={"timeout": 5}, attempt=1,
                     max_attempts=3, run_at=NOW, inserted_at=NOW, attempted_at=NOW,
                     attempted_by="w")


def test_a_stored_job_equals_and_prints_as_the_job_built_whole() -> None:
    stored = storedjob.stored_job(encoding.loads, _values())
    assert stored == _plain()
    assert repr(stored) == repr(_plain())
    assert dataclasses.replace(stored, duplicate=True) == dataclasses.replace(
        _plain(), duplicate=True)
    assert copy.copy(stored) == _plain()
    assert dataclasses.astuple(stored) == dataclasses.astuple(_plain())


def test_columns_are_decoded_only_when_read_and_once() -> None:
    decoded: list[Any] = []

    def decode(text: Any) -> Any:
        decoded.append(text)
        return encoding.loads(text)

    error = '[{"attempt": 1, "at": "2026-01-01T00:00:00+00:00", "type": "E", "message": "m"}]'
    job = storedjob.stored_job(decode, _values(errors=error, result="3"))
    assert job.name == "send" and decoded == []
    assert job.args == [1, 2] and job.kwargs == {"a": 1} and job.meta == {"timeout": 5}
    assert job.malformed is None
    assert len(decoded) == 3  # arguments only: errors and result wait until read
    assert job.errors[0].message == "m" and job.result == 3
    assert job.args == [1, 2]
    assert len(decoded) == 5


def test_a_stored_job_is_frozen() -> None:
    job = storedjob.stored_job(encoding.loads, _values())
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.args = []  # type: ignore[misc]


@pytest.mark.parametrize(("args", "kwargs"), [("not json", "{}"), ('{"a": 1}', "{}"),
                                          ("[]", "[]")])
def test_undecodable_or_misshapen_arguments_make_a_malformed_job(args: str, kwargs: str) -> None:
    job = storedjob.stored_job(encoding.loads, _values(args=args, kwargs=kwargs))
    assert job.malformed is not None and job.malformed.startswith("undecodable arguments")
    assert (job.args, job.kwargs, job.meta) == ([], {}, {})


def test_undecodable_errors_and_result_read_as_none() -> None:
    job = storedjob.stored_job(encoding.loads, _values(errors='[{"no": "at"}]', result="{"))
    assert job.errors == () and job.result is None
    assert job.args == [1, 2]


def test_a_postgres_claim_reads_null_json_as_none() -> None:
    from conveyor.backends.postgres import rows

    job = storedjob.stored_job(rows.loads, _values(args=b"[1, 2]", kwargs=b'{"a": 1}',
                                               meta=b'{"timeout": 5}', errors=b"[]",
                                               result=None))
    assert job == _plain() and job.result is None
