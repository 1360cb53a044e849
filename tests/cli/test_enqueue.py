"""`conveyor enqueue NAME`: arguments checked against the job's signature, options as in
code, an audit entry, and every bad input refused with one clear line and nothing written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from conveyor import Conveyor, FrozenClock, JobState
from tests.cli.harness import run


@pytest.fixture
def shop(app: Conveyor) -> Conveyor:
    @app.job(name="sync_product", queue="sync")
    def sync_product(product_id: int, shop_id: int, *, full: bool = False) -> None: ...

    @app.job(name="report", unique_for=3600)
    def report(day: str) -> None: ...

    return app


def test_enqueue_with_arguments_and_options(shop: Conveyor, clock: FrozenClock) -> None:
    done = run(shop, "enqueue", "sync_product", "--args", "[7, 2]", "--kwargs",
               '{"full": true}', "--priority", "-3", "--delay", "90", "--actor", "ops")
    assert done.exit_code == 0, done.output
    (job,) = shop.jobs()
    assert done.output.strip() == (f"enqueued job {job.id} (sync_product) on queue sync, "
                                   f"scheduled, runs at {job.run_at.isoformat()}")
    assert (list(job.args), dict(job.kwargs), job.queue, job.priority, job.state) == \
        ([7, 2], {"full": True}, "sync", -3, JobState.SCHEDULED)
    assert job.run_at == clock.now() + timedelta(seconds=90)
    (entry,) = shop.admin.audit(job_id=job.id).entries
    assert (entry.actor, entry.action, entry.count, entry.filter["name"]) == \
        ("ops", "enqueue", 1, "sync_product")


def test_enqueue_at_a_time_on_another_queue_as_json(shop: Conveyor) -> None:
    done = run(shop, "enqueue", "sync_product", "--kwargs", '{"product_id": 1, "shop_id": 2}',
               "--queue", "backfill", "--run-at", "2030-05-01T09:00:00+02:00", "--json")
    assert done.exit_code == 0, done.output
    shown = orjson.loads(done.output)
    job = shop.get(shown["id"])
    assert (shown["name"], shown["queue"], shown["state"], shown["duplicate"]) == \
        ("sync_product", "backfill", "scheduled", False)
    assert job.run_at == datetime(2030, 5, 1, 7, tzinfo=UTC) and job.queue == "backfill"


def test_a_unique_duplicate_is_nothing_to_do(shop: Conveyor) -> None:
    first = run(shop, "enqueue", "report", "--args", '["2026-05-01"]')
    again = run(shop, "enqueue", "report", "--args", '["2026-05-01"]')
    assert first.exit_code == again.exit_code == 0
    (job,) = shop.jobs()
    assert again.output.strip() == (f"nothing to do: job {job.id} (report) is already "
                                    "available with the same unique key")
    assert len(shop.admin.audit(job_id=job.id).entries) == 1


@pytest.mark.parametrize(("args", "code", "message"), [
    (["nope"], 1, "no job named 'nope' is registered; known: report, sync_product"),
    (["sync_product", "--args", "[1]"], 1, "missing a required argument: 'shop_id'"),
    (["sync_product", "--args", "[1, 2]", "--kwargs", '{"colour": 1}'], 1,
     "unexpected keyword argument 'colour'"),
    (["sync_product", "--args", "[1, 2"], 2, "Invalid value for --args: not valid JSON"),
    (["sync_product", "--args", '{"a": 1}'], 2, "--args: expected a JSON list"),
    (["sync_product", "--kwargs", "[1]"], 2, "--kwargs: expected a JSON object"),
    (["sync_product", "--args", "[1, 2]", "--delay", "5", "--run-at",
      "2030-01-01T00:00:00+00:00"], 2, "give --delay or --run-at, not both"),
    (["sync_product", "--args", "[1, 2]", "--run-at", "2030-01-01T00:00:00"], 2,
     "has no UTC offset"),
    (["sync_product", "--args", "[1, 2]", "--delay", "nan"], 2, "not a finite number"),
    (["sync_product", "--args", "[1, 2]", "--priority", str(2**40)], 2, "--priority"),
    (["sync_product", "--args", "[1, 2]", "--queue", "a,b"], 1, "queue"),
    (["sync_product", "--args", '["x" , "\\u0000"]'], 1, "NUL"),
])
def test_bad_input_is_one_line_and_writes_nothing(shop: Conveyor, args: list[str], code: int,
                                                  message: str) -> None:
    done = run(shop, "enqueue", *args)
    assert done.exit_code == code, done.output
    assert message in done.output and "Traceback" not in done.output
    assert shop.jobs() == []
    assert shop.admin.audit().entries == []


def test_without_an_app_it_asks_for_one(app: Conveyor) -> None:
    done = run(app, "enqueue", "sync_product")
    assert done.exit_code == 2
    assert "name the app with --app MODULE:APP" in done.output
