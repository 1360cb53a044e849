"""Application-level behaviour, the same on every backend: enqueue, run, retry, fail."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest

from conveyor import (
    Cancel,
    Conveyor,
    Discard,
    FrozenClock,
    InvalidArguments,
    JobState,
    PayloadTooLarge,
    Retry,
    Snooze,
    Unserializable,
)
from conveyor.model import JobState as S
from tests.conftest import raw


def test_enqueue_returns_the_stored_job(app: Conveyor, clock: FrozenClock) -> None:
    @app.job(queue="sync", priority=5, max_attempts=3)
    async def sync_product(product_id: int, shop_id: int) -> dict[str, int]:
        return {"product_id": product_id}

    job = sync_product.enqueue(1, shop_id=2)
    assert (job.queue, job.priority, job.max_attempts, job.state) == ("sync", 5, 3, S.AVAILABLE)
    assert (list(job.args), dict(job.kwargs)) == ([1], {"shop_id": 2})
    stored = app.get(job.id)
    assert (stored.name, stored.args, stored.kwargs) == (job.name, [1], {"shop_id": 2})


def test_options_delay_run_at_queue_priority(app: Conveyor, clock: FrozenClock) -> None:
    @app.job(queue="sync")
    def work(n: int) -> None: ...

    delayed = work.options(queue="sync_high", priority=1, delay=300).enqueue(1)
    assert (delayed.queue, delayed.priority, delayed.state) == ("sync_high", 1, S.SCHEDULED)
    assert delayed.run_at == clock.now() + timedelta(seconds=300)
    at = clock.now() + timedelta(hours=2)
    assert work.options(run_at=at).enqueue(2).run_at == at
    assert work.options(delay=0).enqueue(3).state == S.AVAILABLE


def test_enqueue_many_is_atomic(app: Conveyor) -> None:
    @app.job()
    def work(n: int) -> None: ...

    jobs = work.enqueue_many([((1,), {}), ((2,), {})])
    assert [j.args for j in jobs] == [[1], [2]]
    with pytest.raises(Unserializable):
        work.enqueue_many([((3,), {}), (({4},), {})])
    assert len(app.jobs()) == 2


def test_drain_runs_async_and_plain_jobs(app: Conveyor) -> None:
    @app.job()
    async def double(n: int) -> int:
        return n * 2

    @app.job()
    def shout(word: str) -> str:
        return word.upper()

    a, b = double.enqueue(21), shout.enqueue("hi")
    assert app.drain() == 2
    assert (app.get(a.id).result, app.get(b.id).result) == (42, "HI")
    assert app.get(a.id).state == S.COMPLETED and app.get(a.id).attempt == 1


def test_retry_timing_follows_backoff_with_frozen_clock(app: Conveyor,
                                                        clock: FrozenClock) -> None:
    calls: list[int] = []

    @app.job(max_attempts=3, backoff=[30, 60])
    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError(f"try {len(calls)}")
        return "ok"

    job = flaky.enqueue()
    start = clock.now()
    app.drain()
    first = app.get(job.id)
    assert (first.state, first.attempt) == (S.RETRYABLE, 1)
    assert first.run_at == start + timedelta(seconds=30)
    clock.advance(29)
    assert app.drain() == 0
    clock.advance(1)
    app.drain()
    second = app.get(job.id)
    assert second.state == S.RETRYABLE and second.run_at == clock.now() + timedelta(seconds=60)
    clock.advance(60)
    app.drain()
    done = app.get(job.id)
    assert (done.state, done.attempt, done.result) == (S.COMPLETED, 3, "ok")
    assert [e.message for e in done.errors] == ["try 1", "try 2"]
    assert done.errors[0].type == "ConnectionError" and "ConnectionError" in \
        done.errors[0].traceback


def test_exhausted_attempts_discard_and_call_on_discard(app: Conveyor,
                                                        clock: FrozenClock) -> None:
    discarded: list[tuple[int, str]] = []

    def on_discard(job: Any, exc: BaseException | None) -> None:
        discarded.append((job.id, type(exc).__name__))

    @app.job(max_attempts=2, backoff=[0], on_discard=on_discard)
    def broken() -> None:
        raise RuntimeError("always")

    job = broken.enqueue()
    app.drain()
    clock.advance(1)
    app.drain()
    stored = app.get(job.id)
    assert (stored.state, stored.attempt, len(stored.errors)) == (S.DISCARDED, 2, 2)
    assert stored.finalized_at is not None
    assert discarded == [(job.id, "RuntimeError")]


def test_retry_until_deadline_discards_early(app: Conveyor, clock: FrozenClock) -> None:
    @app.job(max_attempts=10, backoff=[600])
    def flaky() -> None:
        raise ConnectionError("down")

    job = flaky.options(retry_until=clock.now() + timedelta(seconds=60)).enqueue()
    app.drain()
    stored = app.get(job.id)
    assert (stored.state, stored.attempt) == (S.DISCARDED, 1)


def test_retry_snooze_cancel_raised_by_job_code(app: Conveyor, clock: FrozenClock) -> None:
    @app.job(max_attempts=5)
    def steer(action: str) -> None:
        if action == "retry":
            raise Retry(in_=5)
        if action == "snooze":
            raise Snooze(120)
        raise Cancel("customer opted out")

    retry, snooze, cancel = (steer.enqueue(a) for a in ("retry", "snooze", "cancel"))
    app.drain()
    r, s, c = app.get(retry.id), app.get(snooze.id), app.get(cancel.id)
    assert (r.state, r.attempt, r.run_at) == (S.RETRYABLE, 1, clock.now() + timedelta(seconds=5))
    assert (s.state, s.attempt, s.run_at) == (S.SCHEDULED, 0, clock.now() +
                                              timedelta(seconds=120))
    assert (c.state, c.errors[-1].message) == (S.CANCELLED, "customer opted out")


def test_discard_ends_the_job_for_good_and_runs_its_hook(app: Conveyor) -> None:
    seen: list[tuple[int, str]] = []

    @app.job(name="discards", max_attempts=5,
             on_discard=lambda job, exc: seen.append((job.id, str(exc))))
    def discards(sku: str) -> None:
        raise Discard(f"no product {sku}")

    job = discards.enqueue("X1")
    app.drain()
    stored = app.get(job.id)
    assert (stored.state, stored.attempt) == (S.DISCARDED, 1)  # 4 attempts left, unused
    assert (stored.errors[-1].type, stored.errors[-1].message) == ("Discard", "no product X1")
    assert seen == [(job.id, "no product X1")]


def test_result_over_limit_fails_clearly(app: Conveyor) -> None:
    @app.job()
    def huge() -> str:
        return "x" * (65 * 1024)

    job = huge.enqueue()
    app.drain()
    stored = app.get(job.id)
    assert stored.state == S.DISCARDED and stored.result is None
    assert "66562 bytes" in stored.errors[-1].message and "65536" in stored.errors[-1].message


@pytest.mark.parametrize(("args", "error", "fragment"), [
    (({1, 2},), Unserializable, "set"),
    ((object(),), Unserializable, "object"),
    ((math.nan,), Unserializable, "NaN"),
    ((math.inf,), Unserializable, "NaN and infinity"),
    (({1: "a"},), Unserializable, "str"),
    (("x" * (1024 * 1024 + 1),), PayloadTooLarge, "1048576 bytes"),
])
def test_bad_arguments_fail_at_enqueue_and_write_nothing(
        app: Conveyor, args: tuple[Any, ...], error: type[Exception], fragment: str) -> None:
    @app.job(name="store")
    def store(value: Any) -> None: ...

    with pytest.raises(error, match=fragment) as caught:
        store.enqueue(*args)
    assert "'store'" in str(caught.value)
    assert app.jobs() == []


def test_arguments_must_match_the_signature(app: Conveyor) -> None:
    @app.job(name="sync_product")
    def sync_product(product_id: int, shop_id: int) -> None: ...

    with pytest.raises(InvalidArguments, match=r"sync_product.*shop_id"):
        sync_product.enqueue(1)
    with pytest.raises(InvalidArguments, match="unexpected keyword"):
        sync_product.enqueue(1, 2, color="red")
    assert app.jobs() == []


def test_unknown_job_name_in_storage_is_retried_not_dropped(app: Conveyor, url: str) -> None:
    @app.job(name="known")
    def known() -> None: ...

    job = known.enqueue()
    raw(url, "UPDATE conveyor_jobs SET name = 'removed_in_this_deploy' WHERE id = ?", (job.id,))
    app.drain()
    stored = app.get(job.id)
    assert (stored.state, stored.attempt) == (S.RETRYABLE, 1)
    assert "removed_in_this_deploy" in stored.errors[-1].message
    assert stored.errors[-1].type == "UnknownJob"


def test_malformed_row_is_discarded_with_the_reason(app: Conveyor, url: str) -> None:
    ran: list[object] = []

    @app.job(name="victim")
    def victim(*args: object) -> None:
        ran.append(args)

    bad, good = victim.enqueue(1), victim.enqueue(2)
    raw(url, "UPDATE conveyor_jobs SET args = '{\"not\": \"a list\"}' WHERE id = ?", (bad.id,))
    app.drain()
    assert ran == [(2,)]
    stored = app.get(bad.id)
    assert stored.state == S.DISCARDED and "undecodable arguments" in stored.errors[-1].message
    assert app.get(good.id).state == JobState.COMPLETED


async def test_async_twins(app: Conveyor) -> None:
    @app.job()
    async def add(a: int, b: int) -> int:
        return a + b

    job = await add.aenqueue(2, 3)
    more = await add.options(priority=2).aenqueue_many([((1, 1), {})])
    assert await app.adrain() == 2
    assert (await app.aget(job.id)).result == 5
    assert (await app.aget(more[0].id)).result == 2
    assert {j.state for j in await app.ajobs()} == {S.COMPLETED}
    await app.aclose()


def test_async_timeout_cancels_at_the_deadline(app: Conveyor) -> None:
    import asyncio

    @app.job(timeout=0.05, max_attempts=1)
    async def slow() -> None:
        await asyncio.sleep(5)

    job = slow.enqueue()
    app.drain()
    stored = app.get(job.id)
    assert (stored.state, stored.errors[-1].type) == (S.DISCARDED, "TimeoutError")


def test_timeout_on_a_thread_job_warns_at_registration(app: Conveyor) -> None:
    with pytest.warns(UserWarning, match=r"'blocking'.*not enforced"):
        @app.job(name="blocking", timeout=1)
        def blocking() -> None: ...


def test_job_code_sees_its_own_context(app: Conveyor) -> None:
    from conveyor import current_job

    seen: list[tuple[int, int]] = []

    @app.job()
    def introspect() -> None:
        ctx = current_job()
        seen.append((ctx.job.id, ctx.job.attempt))

    job = introspect.enqueue()
    app.drain()
    assert seen == [(job.id, 1)]
    with pytest.raises(LookupError, match="only available inside a running job"):
        current_job()


def test_wait_returns_the_final_job_or_times_out(app: Conveyor) -> None:
    @app.job()
    def answer() -> int:
        return 42

    job = answer.enqueue()
    with pytest.raises(TimeoutError):
        app.wait(job.id, timeout=0.05)
    app.drain()
    assert app.wait(job.id, timeout=1).result == 42


async def test_blocking_api_works_inside_a_running_loop(app: Conveyor) -> None:
    """Sync code called from async code (e.g. a library) falls back to the portal thread."""
    @app.job()
    def legacy(n: int) -> int:
        return n

    job = legacy.enqueue(5)  # blocking call while this test's loop is running
    assert app.get(job.id).args == [5]
    assert (await app.aget(job.id)).id == job.id
    await app.aclose()


def test_enqueue_by_name_and_unknown_names(app: Conveyor) -> None:
    from conveyor import UnknownJob

    @app.job(name="shop.sync_product")
    def sync_product(product_id: int) -> None: ...

    job = app.enqueue("shop.sync_product", 7)
    assert (job.name, list(job.args)) == ("shop.sync_product", [7])
    with pytest.raises(UnknownJob, match=r"'shop.sync_prodcut'.*shop.sync_product"):
        app.enqueue("shop.sync_prodcut", 7)
    assert len(app.jobs()) == 1
