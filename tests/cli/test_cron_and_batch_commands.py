"""`conveyor cron ...` and `conveyor batches ...` against a real database."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from click.testing import CliRunner, Result

from conveyor import Conveyor, FrozenClock
from conveyor.cli import context
from conveyor.cli.main import cli


def run(app: Conveyor, *args: str) -> Result:
    obj = context.CliContext(app_spec=None, url=None, _app=app)
    return CliRunner(env={"COLUMNS": "200"}).invoke(cli, list(args), obj=obj,
                                                  catch_exceptions=False)


def test_cron_lists_next_runs_and_pauses(app: Conveyor, clock: FrozenClock) -> None:
    @app.job()
    def cleanup() -> None: ...

    clock.set(datetime(2026, 1, 1, 10, 15, tzinfo=UTC))
    app.cron("0 * * * *", cleanup, name="carts")
    app.migrate()  # listing is read-only: it creates no tables
    listed = orjson.loads(run(app, "cron", "--json").output)
    assert listed[0]["name"] == "carts" and listed[0]["paused"] is False
    assert listed[0]["next_runs"][:2] == ["2026-01-01T11:00:00+00:00",
                                          "2026-01-01T12:00:00+00:00"]
    assert run(app, "cron", "pause", "carts").output.strip() == "paused cron schedule carts"
    assert orjson.loads(run(app, "cron", "--json").output)[0]["paused"] is True
    assert "carts" in run(app, "cron").output
    unknown = run(app, "cron", "pause", "nope")
    assert unknown.exit_code == 1 and "no cron schedule named 'nope'" in unknown.output
    run(app, "cron", "resume", "carts")
    assert orjson.loads(run(app, "cron", "--json").output)[0]["paused"] is False


def test_batches_list_show_cancel_retry(app: Conveyor) -> None:
    @app.job(max_attempts=1)
    def item(n: int) -> None:
        if n < 0:
            raise ValueError("bad item")

    batch = app.batch([item.s(1), item.s(-1), item.s(2)], name="sync", allow_failures=True)
    app.drain()
    listed = orjson.loads(run(app, "batches", "--json").output)
    assert [(b["id"], b["completed"], b["failed"], b["pending"]) for b in listed] == \
        [(batch.id, 2, 1, 0)]
    shown = orjson.loads(run(app, "batches", "show", str(batch.id)).output)
    assert shown["done"] == "100%"
    assert shown["callbacks_fired"] == ["on_failure", "on_complete"]
    assert run(app, "batches", "retry", str(batch.id)).output.strip() == \
        f"retrying 1 jobs of batch {batch.id}"
    assert run(app, "batches", "cancel", str(batch.id)).output.strip() == \
        f"cancelled batch {batch.id} (1 jobs)"
    missing = run(app, "batches", "show", "999")
    assert missing.exit_code == 1 and "no batch with id 999" in missing.output


def test_cron_lists_status_and_deletes_a_schedule_removed_from_the_code(
        app: Conveyor, clock: FrozenClock) -> None:
    @app.job()
    def cleanup() -> None: ...

    app.cron("0 * * * *", cleanup, name="carts")
    app.cron("@daily", cleanup, name="old")
    assert run(app, "cron", "pause", "carts").exit_code == 0  # stores this app's schedules
    del app.schedules["old"]  # a later version of the code no longer declares it
    listed = {i["name"]: i for i in orjson.loads(run(app, "cron", "--json").output)}
    assert (listed["carts"]["status"], listed["old"]["status"]) == ("active", "orphaned")
    assert listed["old"]["next_runs"] and listed["old"]["conflicts"] == []
    table = run(app, "cron").output.splitlines()
    assert table[0].split("\t")[:2] == ["name", "status"]
    assert table[2].split("\t")[:3] == ["old", "orphaned", "@daily"]
    deleted = run(app, "cron", "delete", "old", "--actor", "ops")
    assert (deleted.exit_code, deleted.stdout.strip()) == (0, "deleted cron schedule old")
    assert [i["name"] for i in orjson.loads(run(app, "cron", "--json").output)] == ["carts"]
    still = run(app, "cron", "delete", "carts")
    assert "this app still declares 'carts'" in still.stderr
    missing = run(app, "cron", "delete", "old")
    assert missing.exit_code == 1 and "no stored cron schedule named 'old'" in missing.output
def test_cron_run_enqueues_now(app: Conveyor) -> None:
    @app.job(name="cleanup")
    def cleanup() -> None: ...

    app.cron("0 * * * *", cleanup, name="carts")
    done = run(app, "cron", "run", "carts", "--actor", "ops")
    job = app.jobs()[0]
    assert done.output.strip() == f"enqueued job {job.id} (cleanup) for cron schedule carts"
    assert job.meta["manual"] is True and job.meta["actor"] == "ops"
    missing = run(app, "cron", "run", "nope")
    assert missing.exit_code == 1 and "no cron schedule named 'nope'" in missing.output
