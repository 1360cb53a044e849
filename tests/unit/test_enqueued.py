"""`Enqueued`, what `enqueue_many` returns: it reads like the list of jobs it stands for,
and builds each job only when that job is read."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from conveyor import Enqueued, model
from conveyor.enqueued import job_of

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
S = model.JobState


def _rows(count: int) -> list[model.NewJob]:
    return [model.NewJob(name="work", queue="default", priority=0, args_json=f"[{n}]",
                         kwargs_json='{"k": 1}', max_attempts=3, run_at=NOW)
            for n in range(count)]


def _enqueued(count: int, existing: dict[int, model.Job] | None = None) -> Enqueued:
    inserted = [model.Inserted(100 + n, S.AVAILABLE, duplicate=n in (existing or {}))
                for n in range(count)]
    return Enqueued(_rows(count), inserted, NOW, existing)


def test_indexes_iterates_and_unpacks_like_the_list_of_jobs() -> None:
    jobs = _enqueued(4)
    expected = [job_of(row, model.Inserted(100 + n, S.AVAILABLE), NOW)
                for n, row in enumerate(_rows(4))]
    assert len(jobs) == 4 and list(jobs) == expected and jobs == expected
    assert (jobs[0], jobs[-1], jobs[1:3]) == (expected[0], expected[3], expected[1:3])
    assert jobs[::-1] == expected[::-1] and list(reversed(jobs)) == expected[::-1]
    first, *_ = jobs
    assert (first.id, list(first.args), dict(first.kwargs)) == (100, [0], {"k": 1})
    assert first.inserted_at == NOW and first.state is S.AVAILABLE and first in jobs
    assert jobs.index(expected[2]) == 2
    for bad in (4, -5):
        with pytest.raises(IndexError):
            jobs[bad]
    assert jobs != expected[:3] and jobs != "not jobs"
    with pytest.raises(TypeError):
        hash(jobs)


def test_jobs_are_built_when_read_and_once() -> None:
    jobs = _enqueued(20_000)
    assert jobs.ids[:3] == [100, 101, 102] and jobs.duplicates == [False] * 20_000
    assert jobs._jobs.count(None) == 20_000  # nothing built for ids and len
    assert jobs[5] is jobs[5] and jobs[-1] is jobs[19_999]
    assert jobs._jobs.count(None) == 19_998
    assert "20000 jobs, ids [100, 101, 102, 103, 104, ...]" in repr(jobs)


def test_a_duplicate_is_the_stored_job_it_stands_for() -> None:
    stored = dataclasses.replace(job_of(_rows(1)[0], model.Inserted(7, S.RUNNING), NOW),
                                 attempt=1, duplicate=True)
    jobs = _enqueued(3, {1: stored})
    assert jobs.duplicates == [False, True, False]
    assert jobs[1] is stored and jobs[0].duplicate is False


def test_results_must_match_the_rows() -> None:
    with pytest.raises(ValueError, match="2 rows but 1 insert results"):
        Enqueued(_rows(2), [model.Inserted(1, S.AVAILABLE)], NOW)
    assert list(Enqueued([], [], NOW)) == [] and repr(Enqueued([], [], NOW)).count("0 jobs")
