"""The floor on Conveyor's table writes, claims and completes real `conveyor_jobs` rows: jobs
Conveyor itself reads back as plain no-ops, enqueued, then run once each by the floor's
workers and completed as Conveyor completes them."""

from __future__ import annotations

from bench import floor
from conveyor import Conveyor
from conveyor.filters import JobFilter
from conveyor.model import JobState

schema = floor.schema

JOBS = 300


def test_enqueued_rows_are_plain_available_jobs(url: str) -> None:
    table = floor.engine(url, table=True)
    table.setup(url)
    assert table.enqueue_one(url, 20) > 0
    app = Conveyor(url)
    try:
        jobs = sorted(app.jobs(), key=lambda job: job.id)
    finally:
        app.close()
    assert [job.args for job in jobs] == [[i] for i in range(20)]
    assert {(job.name, job.queue, job.state, job.priority, job.attempt, job.max_attempts)
            for job in jobs} == {("noop", "default", JobState.AVAILABLE, 0, 0, 20)}
    assert all(job.kwargs == {} and job.meta == {} and job.inserted_at == job.run_at
               for job in jobs)


def test_processing_claims_and_completes_every_job_once(url: str) -> None:
    rates = floor.process(url, JOBS, processes=2, claim=50, table=True)
    assert rates["enqueue bulk"] > 0 and rates["process"] > 0
    app = Conveyor(url)
    try:
        jobs = app.jobs(JobFilter(limit=JOBS + 1))
    finally:
        app.close()
    assert sorted(job.args[0] for job in jobs) == list(range(JOBS))
    assert {(job.state, job.attempt, job.result) for job in jobs} == {
        (JobState.COMPLETED, 1, None)}
    assert all(job.attempted_by and job.attempted_by.startswith("floor-")
               and job.attempted_at is not None and job.finalized_at is not None
               and job.attempted_at <= job.finalized_at for job in jobs)


def test_indexes_can_be_left_out_but_the_claims(url: str) -> None:
    schema.create(url)
    every = schema.secondary(url)
    assert set(schema.LISTING) <= set(every) and schema.FETCH not in every
    schema.create(url, every)
    assert schema.secondary(url) == []
    schema.create(url)  # as the other tests expect it: migrated, every index
