"""`assert_enqueued` / `assert_not_enqueued` / `enqueued_jobs`: calls matched by the job's
signature, and failure messages that list what was enqueued."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conveyor import ConfigurationError, Conveyor, FrozenClock, JobState, testing


@pytest.fixture
def shop(app: Conveyor) -> Conveyor:
    @app.job(name="sync_product", queue="sync")
    def sync_product(product_id: int, shop_id: int = 1) -> None: ...

    @app.job(name="send_email")
    def send_email(to: str, *, subject: str = "") -> None: ...

    return app


def test_a_call_matches_however_it_was_written(shop: Conveyor) -> None:
    sync = shop.registry.get("sync_product")
    sync.enqueue(7, 2)
    found = testing.assert_enqueued(sync, args=(7,), kwargs={"shop_id": 2})
    assert [job.args for job in found] == [[7, 2]]
    testing.assert_enqueued(sync, kwargs={"product_id": 7, "shop_id": 2})
    testing.assert_enqueued(sync, args=[7, 2], queue="sync", count=1)
    sync.enqueue(product_id=8)  # shop_id defaults to 1
    testing.assert_enqueued(sync, args=(8, 1))
    testing.assert_not_enqueued(sync, args=(8, 2))
    assert len(testing.enqueued_jobs(sync)) == 2
    assert [j.kwargs for j in testing.enqueued_jobs(shop, kwargs={"product_id": 8})] == \
        [{"product_id": 8}]  # with an app, no signature: compared as stored


def test_the_failure_lists_what_was_enqueued(shop: Conveyor) -> None:
    sync, email = shop.registry.get("sync_product"), shop.registry.get("send_email")
    sync.enqueue(1, 2)
    email.options(delay=90).enqueue("ann@example.com", subject="hi")
    with pytest.raises(AssertionError) as failed:
        testing.assert_enqueued(sync, args=(1, 3))
    message = str(failed.value)
    assert message.startswith("expected a job sync_product(1, 3); found 0.\n")
    assert "Pending/scheduled/available/retryable jobs (2):" in message
    assert "#1 sync_product(1, 2)  queue=sync available due now" in message
    assert "#2 send_email('ann@example.com', subject='hi')  queue=default scheduled " \
           "due in 90s" in message
    with pytest.raises(AssertionError, match=r"expected no job sync_product\(1, 2\); found 1"):
        testing.assert_not_enqueued(sync, args=(1, 2))
    with pytest.raises(AssertionError, match="expected 2 jobs sync_product; found 1"):
        testing.assert_enqueued(sync, count=2)


def test_within_looks_at_when_the_job_is_due(shop: Conveyor, clock: FrozenClock) -> None:
    email = shop.registry.get("send_email")
    email.options(delay=3600).enqueue("bob@example.com")
    testing.assert_enqueued(email, within=timedelta(hours=1))
    with pytest.raises(AssertionError, match=r"due within 600s \(by "):
        testing.assert_enqueued(email, within=600)
    testing.assert_not_enqueued(email, within=600)
    clock.advance(3000)
    testing.assert_enqueued(email, within=600)


def test_jobs_that_ran_are_no_longer_enqueued(shop: Conveyor) -> None:
    sync = shop.registry.get("sync_product")
    sync.enqueue(5)
    testing.drain(shop)
    testing.assert_not_enqueued(sync)
    testing.assert_enqueued(sync, args=(5,), states=[JobState.COMPLETED])
    with pytest.raises(AssertionError, match="No pending/scheduled/available/retryable jobs"):
        testing.assert_enqueued(sync)


def test_bad_criteria_are_refused(shop: Conveyor) -> None:
    sync = shop.registry.get("sync_product")
    with pytest.raises(ConfigurationError, match="not seconds >= 0"):
        testing.assert_enqueued(sync, within=-1)
    with pytest.raises(ConfigurationError, match="expected a job"):
        testing.enqueued_jobs("sync_product")  # type: ignore[arg-type]
    with pytest.raises(Exception, match="do not match"):  # InvalidArguments
        testing.assert_enqueued(sync, args=(1, 2, 3))
