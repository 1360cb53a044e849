"""Operator actions and retention, the same on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conveyor import Conveyor, FrozenClock, InvalidArguments, JobFilter, JobNotFound, changes
from conveyor.model import JobState as S
from conveyor.registry import JobType
from conveyor.worker import leader
from tests.conftest import raw

Job = JobType[..., None]


@pytest.fixture
def sync_product(app: Conveyor) -> Job:
    @app.job(name="sync_product", queue="sync", max_attempts=1)
    def sync_product(product_id: int, shop_id: int) -> None:
        if product_id < 0:
            raise ValueError("negative")

    return sync_product


def test_retry_gives_discarded_jobs_fresh_attempts(app: Conveyor, sync_product: Job) -> None:
    bad = sync_product.enqueue(-1, 1)
    app.drain()
    assert app.get(bad.id).state == S.DISCARDED
    result = app.admin.apply(changes.RetryJobs(), JobFilter(states=[S.DISCARDED]), actor="ops")
    assert (result.verb, result.count, result.dry_run) == ("retry", 1, False)
    again = app.get(bad.id)
    assert (again.state, again.attempt, again.finalized_at) == (S.AVAILABLE, 0, None)
    app.drain()
    assert app.get(bad.id).attempt == 1
    audit = raw(app.url, "SELECT actor, action, count FROM conveyor_audit")
    assert audit == [("ops", "retry", 1)]


def test_dry_run_counts_without_changing(app: Conveyor, sync_product: Job) -> None:
    for n in range(3):
        sync_product.enqueue(n, 9)
    result = app.admin.apply(changes.CancelJobs(), JobFilter(queues=["sync"]), dry_run=True)
    assert (result.count, result.dry_run) == (3, True)
    assert {j.state for j in app.jobs()} == {S.AVAILABLE}
    assert raw(app.url, "SELECT count(*) FROM conveyor_audit")[0][0] == 0


def test_cancel_by_filter_leaves_running_and_final_jobs(app: Conveyor, sync_product: Job,
                                                       clock: FrozenClock) -> None:
    done = sync_product.enqueue(1, 1)
    app.drain()
    later = sync_product.options(delay=60).enqueue(2, 1)
    now = sync_product.enqueue(3, 1)
    result = app.admin.apply(changes.CancelJobs(), JobFilter(names=["sync_product"]))
    assert result.count == 2
    assert app.get(done.id).state == S.COMPLETED
    assert app.get(later.id).state == S.CANCELLED
    assert app.get(now.id).finalized_at == clock.now()


def test_filters_by_arguments_and_time(app: Conveyor, sync_product: Job,
                                      clock: FrozenClock) -> None:
    a = sync_product.enqueue(1, shop_id=7)
    clock.advance(60)
    b = sync_product.enqueue(2, shop_id=8)
    c = sync_product.enqueue(7, 9)

    def ids(**fields: object) -> list[int]:
        return [j.id for j in app.jobs(JobFilter(**fields))]

    assert ids(kwargs_contains={"shop_id": 7}) == [a.id]
    assert ids(args_contains=[7]) == [c.id]
    assert ids(args_contains=["7"]) == []
    assert ids(inserted_after=clock.now() - timedelta(seconds=1)) == [b.id, c.id]
    assert ids(inserted_before=clock.now() - timedelta(seconds=1)) == [a.id]


def test_hostile_filter_values_are_only_data(app: Conveyor, sync_product: Job) -> None:
    sync_product.enqueue(1, 1)
    hostile = "x'); DROP TABLE conveyor_jobs; --"
    assert app.jobs(JobFilter(names=[hostile], queues=[hostile])) == []
    assert app.jobs(JobFilter(kwargs_contains={hostile: hostile})) == []
    assert len(app.jobs()) == 1


def test_delete_and_unknown_ids(app: Conveyor, sync_product: Job) -> None:
    job = sync_product.enqueue(1, 1)
    with pytest.raises(JobNotFound, match="424242"):
        app.admin.apply(changes.DeleteJobs(), JobFilter(ids=[job.id, 424242]))
    assert len(app.jobs()) == 1  # nothing deleted when one id is unknown
    assert app.admin.apply(changes.DeleteJobs(), JobFilter(ids=[job.id])).count == 1
    with pytest.raises(JobNotFound):
        app.get(job.id)


def test_edit_validates_against_the_signature(app: Conveyor, sync_product: Job,
                                              clock: FrozenClock) -> None:
    job = sync_product.enqueue(1, 1)
    with pytest.raises(InvalidArguments, match="sync_product"):
        app.admin.edit(job.id, args=[1, 2, 3])
    assert app.get(job.id).args == [1, 1]
    later = clock.now() + timedelta(hours=1)
    app.admin.edit(job.id, args=[5], kwargs={"shop_id": 6}, priority=3, run_at=later)
    edited = app.get(job.id)
    assert (edited.args, edited.kwargs, edited.priority) == ([5], {"shop_id": 6}, 3)
    assert (edited.state, edited.run_at) == (S.SCHEDULED, later)


def test_edit_refuses_final_jobs(app: Conveyor, sync_product: Job) -> None:
    job = sync_product.enqueue(1, 1)
    app.drain()
    with pytest.raises(Exception, match="only"):
        app.admin.edit(job.id, priority=1)


def test_failed_and_cancelled_jobs_can_be_edited_and_keep_their_state(
        app: Conveyor, sync_product: Job) -> None:
    bad = sync_product.enqueue(-1, 1)
    app.drain()
    stopped = sync_product.options(delay=60).enqueue(2, 1)
    app.admin.apply(changes.CancelJobs(), JobFilter(ids=[stopped.id]))
    for job_id in (bad.id, stopped.id):
        before = app.get(job_id)
        app.admin.edit(job_id, args=[7, 1], queue="fixed", priority=4)
        after = app.get(job_id)
        assert (after.state, after.attempt, after.finalized_at) == \
            (before.state, before.attempt, before.finalized_at)
        assert (list(after.args), after.queue, after.priority) == ([7, 1], "fixed", 4)


def test_edit_with_retry_requeues_with_fresh_attempts_in_one_change(
        app: Conveyor, sync_product: Job, clock: FrozenClock) -> None:
    bad = sync_product.enqueue(-1, 1)
    app.drain()
    result = app.admin.edit(bad.id, args=[3, 1], retry=True, actor="ops")
    assert (result.verb, result.count) == ("edit", 1)
    again = app.get(bad.id)
    assert (again.state, again.attempt, again.finalized_at, list(again.args)) == \
        (S.AVAILABLE, 0, None, [3, 1])
    assert raw(app.url, "SELECT actor, action, count FROM conveyor_audit") == [("ops", "edit", 1)]
    app.drain()
    assert app.get(bad.id).state == S.COMPLETED
    # with a later run_at, the job waits for it
    failed = sync_product.enqueue(-2, 1)
    app.drain()
    later = clock.now() + timedelta(hours=1)
    app.admin.edit(failed.id, args=[4, 1], run_at=later, retry=True)
    waiting = app.get(failed.id)
    assert (waiting.state, waiting.run_at, waiting.attempt) == (S.SCHEDULED, later, 0)


def test_edit_with_retry_refuses_jobs_that_are_not_failed_or_waiting(
        app: Conveyor, sync_product: Job) -> None:
    due = sync_product.enqueue(1, 1)
    with pytest.raises(Exception, match=f"job {due.id} is available; only cancelled, "
                                        "discarded, retryable, scheduled jobs can be edited "
                                        "and retried"):
        app.admin.edit(due.id, retry=True)
    assert app.get(due.id).state == S.AVAILABLE


def test_editing_a_retryable_jobs_time_keeps_it_retryable(app: Conveyor,
                                                          clock: FrozenClock) -> None:
    @app.job(name="flaky", max_attempts=3)
    def flaky() -> None:
        raise ValueError("again")

    job = flaky.enqueue()
    app.drain()
    assert app.get(job.id).state == S.RETRYABLE
    later = clock.now() + timedelta(hours=2)
    app.admin.edit(job.id, run_at=later)
    assert (app.get(job.id).state, app.get(job.id).run_at) == (S.RETRYABLE, later)
    app.admin.edit(job.id, run_at=clock.now())
    assert app.get(job.id).state == S.AVAILABLE


def test_stats_count_states_and_oldest_waiting(app: Conveyor, sync_product: Job,
                                               clock: FrozenClock) -> None:
    sync_product.enqueue(1, 1)
    clock.advance(90)
    sync_product.enqueue(2, 1)
    stats = app.admin.stats()
    assert stats.counts == {("sync", S.AVAILABLE): 2}
    assert stats.waiting_seconds("sync") == 90
    assert stats.waiting_seconds("other") == 0


async def test_prune_removes_only_jobs_past_retention(app: Conveyor, sync_product: Job,
                                                      clock: FrozenClock) -> None:
    old = await sync_product.aenqueue(1, 1)
    failed = await sync_product.aenqueue(-1, 1)
    await app.adrain()
    clock.advance(86_400 + 1)
    fresh = await sync_product.aenqueue(2, 1)
    await app.adrain()
    backend = await app.storage()
    assert await leader.prune(app, backend, batch=1) == 1
    remaining = {j.id for j in await app.ajobs()}
    assert remaining == {failed.id, fresh.id}  # discarded jobs are kept 7 days
    assert old.id not in remaining
    await app.aclose()


def test_ids_and_limits_out_of_range_are_refused_the_same_on_every_backend(
        app: Conveyor) -> None:
    from conveyor import BatchNotFound, ConfigurationError

    app.migrate()
    with pytest.raises(ConfigurationError, match="limit=-1 is invalid"):
        app.batches(limit=-1)
    with pytest.raises(ConfigurationError, match="limit=0 is invalid"):
        JobFilter(limit=0)
    with pytest.raises(JobNotFound, match="no job with id 1180591620717411303424"):
        app.get(2**70)
    with pytest.raises(BatchNotFound, match="no batch with id"):
        app.get_batch(2**64)
    with pytest.raises(ConfigurationError, match="job id"):
        JobFilter(after_id=2**63)
    assert app.jobs(JobFilter(ids=[2**63 - 1])) == []


def test_listing_newest_first_pages_by_keyset(app: Conveyor, sync_product: Job) -> None:
    ids = [sync_product.enqueue(n, 1).id for n in range(5)]

    def page(**fields: object) -> list[int]:
        return [j.id for j in app.jobs(JobFilter(**fields))]

    assert page() == ids
    assert page(newest_first=True, limit=2) == [ids[4], ids[3]]
    assert page(newest_first=True, limit=2, before_id=ids[3]) == [ids[2], ids[1]]
    assert page(newest_first=True, before_id=ids[3], after_id=ids[0]) == [ids[2], ids[1]]
    assert page(limit=2, after_id=ids[1]) == [ids[2], ids[3]]
