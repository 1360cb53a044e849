"""Batches: progress, callbacks fired once, failure policies - the same on every backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conveyor import (
    BatchClosed,
    BatchNotFound,
    Conveyor,
    InvalidArguments,
    JobFilter,
    current_job,
    workflows,
)
from conveyor.model import JobState as S


@pytest.fixture
def shop(app: Conveyor) -> Conveyor:
    """An app with a sync job (fails for negative ids) and three callbacks."""
    @app.job(name="sync", max_attempts=1)
    def sync(product_id: int) -> int:
        if product_id < 0:
            raise ValueError(f"product {product_id} is broken")
        return product_id

    for kind in ("success", "failure", "complete"):
        @app.job(name=kind, queue="callbacks")
        def callback(label: str) -> int:
            batch_id: int = current_job().job.meta["batch_id"]
            return batch_id

    return app


def _sig(app: Conveyor, name: str, *args: object) -> object:
    return app.registry.get(name).s(*args)


def _callbacks(app: Conveyor) -> dict[str, list[int]]:
    """Callback jobs by name, with the batch id each was given."""
    found: dict[str, list[int]] = {}
    for job in app.jobs(JobFilter(queues=["callbacks"], limit=1000)):
        found.setdefault(job.name, []).append(int(job.meta["batch_id"]))
    return found


def _open(app: Conveyor, ids: list[int], **options: object) -> int:
    batch = app.batch((_sig(app, "sync", i) for i in ids), name="Nightly sync",  # type: ignore[misc]
                      on_success=_sig(app, "success", "ok"), on_failure=_sig(app, "failure", "x"),
                      on_complete=_sig(app, "complete", "done"), **options)
    return batch.id


def test_all_complete_fires_success_and_complete_once(shop: Conveyor) -> None:
    batch_id = _open(shop, [1, 2, 3])
    progress = shop.get_batch(batch_id).progress
    assert (progress.total, progress.pending, progress.completed, progress.percent) == \
        (3, 3, 0, 0.0)
    shop.drain(queues=["default"])
    batch = shop.get_batch(batch_id)
    assert (batch.progress.completed, batch.progress.pending, batch.progress.percent) == \
        (3, 0, 100.0)
    assert batch.finished and batch.name == "Nightly sync"
    assert _callbacks(shop) == {"success": [batch_id], "complete": [batch_id]}
    shop.drain()
    assert _callbacks(shop) == {"success": [batch_id], "complete": [batch_id]}
    assert batch.callbacks_fired == ("on_success", "on_complete")


def test_first_failure_cancels_the_rest_when_failures_are_not_allowed(shop: Conveyor) -> None:
    sync = shop.registry.get("sync")
    calls = [sync.s(1), sync.options(queue="first").s(-2), sync.s(3), sync.s(4)]
    batch_id = shop.batch(calls, on_failure=_sig(shop, "failure", "x"),  # type: ignore[arg-type]
                          on_complete=_sig(shop, "complete", "done")).id  # type: ignore[arg-type]
    shop.drain(queues=["first"])
    progress = shop.get_batch(batch_id).progress
    assert (progress.completed, progress.failed, progress.cancelled, progress.pending) == \
        (0, 1, 3, 0)
    assert _callbacks(shop) == {"failure": [batch_id], "complete": [batch_id]}
    cancelled = shop.jobs(JobFilter(batch_ids=[batch_id], states=[S.CANCELLED]))
    assert [j.errors[-1].type for j in cancelled] == ["BatchFailed"] * 3


def test_allowed_failures_let_the_rest_run(shop: Conveyor) -> None:
    batch_id = _open(shop, [1, -2, 3, -4], allow_failures=True)
    shop.drain(queues=["default"])
    progress = shop.get_batch(batch_id).progress
    assert (progress.completed, progress.failed, progress.cancelled) == (2, 2, 0)
    assert _callbacks(shop) == {"failure": [batch_id], "complete": [batch_id]}


def test_retrying_failed_jobs_can_still_succeed(shop: Conveyor) -> None:
    batch_id = _open(shop, [1, -2], allow_failures=True)
    shop.drain(queues=["default"])
    broken = shop.jobs(JobFilter(batch_ids=[batch_id], states=[S.DISCARDED]))[0]
    assert broken.args == [-2]
    assert shop.get_batch(batch_id).finished
    assert shop.retry_batch(batch_id) == 1
    assert shop.get_batch(batch_id).progress.pending == 1
    assert not shop.get_batch(batch_id).finished  # it runs again: no finish time yet
    shop.drain(queues=["default"])
    assert shop.get_batch(batch_id).finished
    assert _callbacks(shop) == {"failure": [batch_id], "complete": [batch_id]}


def test_add_to_a_running_batch_and_cancel_it(shop: Conveyor) -> None:
    batch_id = _open(shop, [1])
    assert shop.add_to_batch(batch_id, [_sig(shop, "sync", 5), _sig(shop, "sync", 6)]) == 2  # type: ignore[list-item]
    assert shop.get_batch(batch_id).progress.total == 3
    assert shop.cancel_batch(batch_id) == 3
    batch = shop.get_batch(batch_id)
    assert batch.cancelled and batch.finished and batch.progress.cancelled == 3
    assert _callbacks(shop) == {"complete": [batch_id]}
    with pytest.raises(BatchClosed, match=f"batch {batch_id} was cancelled"):
        shop.add_to_batch(batch_id, [_sig(shop, "sync", 7)])  # type: ignore[list-item]
    with pytest.raises(BatchNotFound):
        shop.get_batch(987654)
    with pytest.raises(BatchNotFound):
        shop.add_to_batch(987654, [_sig(shop, "sync", 7)])  # type: ignore[list-item]


async def test_a_streamed_batch_is_sealed_only_after_its_last_chunk(shop: Conveyor) -> None:
    def calls() -> Iterator[object]:
        for i in range(1, 8):
            yield _sig(shop, "sync", i)

    batch = await workflows.open_batch(shop, calls(), chunk=3,  # type: ignore[arg-type]
                                   on_success=_sig(shop, "success", "ok"))  # type: ignore[arg-type]
    assert (batch.progress.total, batch.sealed) == (7, True)
    await shop.adrain(queues=["default"])
    assert (await shop.aget_batch(batch.id)).progress.completed == 7
    assert _callbacks_async_safe(await shop.ajobs(JobFilter(queues=["callbacks"]))) == ["success"]


def _callbacks_async_safe(jobs: list[object]) -> list[str]:
    return [j.name for j in jobs]  # type: ignore[attr-defined]


async def test_a_stream_that_fails_half_way_cancels_its_batch(shop: Conveyor) -> None:
    def calls() -> Iterator[object]:
        for i in range(1, 6):
            yield _sig(shop, "sync", i)
        yield _sig(shop, "sync", "not", "valid")

    with pytest.raises(InvalidArguments):
        await workflows.open_batch(shop, calls(), chunk=2,  # type: ignore[arg-type]
                               on_complete=_sig(shop, "complete", "x"))  # type: ignore[arg-type]
    (batch,) = await shop.abatches()
    assert batch.cancelled and batch.finished and batch.progress.pending == 0
    assert batch.progress.cancelled == batch.progress.total == 2  # the first chunk
    assert [j.name for j in await shop.ajobs(JobFilter(queues=["callbacks"]))] == ["complete"]


def test_a_batch_that_fits_one_chunk_is_atomic(shop: Conveyor) -> None:
    with pytest.raises(InvalidArguments):
        shop.batch([_sig(shop, "sync", 1), _sig(shop, "sync", "a", "b")])  # type: ignore[list-item]
    assert shop.batches() == [] and shop.jobs() == []


def test_a_duplicate_of_a_unique_job_is_not_a_job_of_the_batch(shop: Conveyor) -> None:
    """A unique job already enqueued (before the batch, or earlier in it) is not inserted
    again: the batch counts only the jobs it holds, so it still finishes."""
    @shop.job(name="report", unique_key=lambda day: day)
    def report(day: int) -> int:
        return day

    report.enqueue(1)
    calls = [report.s(1), report.s(2), report.s(2), _sig(shop, "sync", 3)]
    batch_id = shop.batch(calls, on_complete=_sig(shop, "complete", "done")).id  # type: ignore[arg-type]
    assert shop.get_batch(batch_id).progress.total == 2
    shop.drain(queues=["default"])
    batch = shop.get_batch(batch_id)
    assert batch.finished and (batch.progress.completed, batch.progress.pending) == (2, 0)
    assert _callbacks(shop) == {"complete": [batch_id]}


def test_an_empty_batch_finishes_at_once(shop: Conveyor) -> None:
    batch = shop.batch([], on_success=_sig(shop, "success", "ok"))  # type: ignore[arg-type]
    assert batch.finished and batch.progress.percent == 100.0
    assert _callbacks(shop) == {"success": [batch.id]}
