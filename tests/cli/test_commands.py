"""The operations CLI against a real database: output, exit codes, and bad input."""

from __future__ import annotations

import orjson
import pytest
from click.testing import CliRunner, Result

from conveyor import Conveyor, JobState
from conveyor.cli import context
from conveyor.cli.main import cli
from tests.conftest import raw


@pytest.fixture
def shop(app: Conveyor) -> Conveyor:
    @app.job(name="sync_product", queue="sync", max_attempts=1)
    def sync_product(product_id: int, shop_id: int) -> None:
        if product_id < 0:
            raise ValueError("negative product id")

    sync_product.enqueue(-1, 1)
    app.drain()
    sync_product.enqueue(2, 1)
    sync_product.options(delay=600).enqueue(3, 1)
    return app


def run(app: Conveyor, *args: str) -> Result:
    obj = context.CliContext(app_spec=None, url=None, _app=app)
    return CliRunner(env={"COLUMNS": "200"}).invoke(cli, list(args), obj=obj,
                                                  catch_exceptions=False)


def states(app: Conveyor) -> dict[int, JobState]:
    return {job.id: job.state for job in app.jobs()}


def test_list_show_failed_and_stats_as_json(shop: Conveyor) -> None:
    listed = orjson.loads(run(shop, "jobs", "list", "--json").output)
    assert [(j["id"], j["state"]) for j in listed] == [(3, "scheduled"), (2, "available"),
                                                      (1, "discarded")]
    oldest = orjson.loads(run(shop, "jobs", "list", "--oldest-first", "--json").output)
    assert [j["id"] for j in oldest] == [1, 2, 3]
    page = orjson.loads(run(shop, "jobs", "list", "--limit", "1", "--before-id", "3",
                            "--json").output)
    assert [j["id"] for j in page] == [2]
    shown = orjson.loads(run(shop, "jobs", "show", "1", "--json").output)
    assert shown["errors"][0]["message"] == "negative product id"
    assert shown["args"] == [-1, 1]
    failed = orjson.loads(run(shop, "failed", "--json").output)
    assert [j["id"] for j in failed] == [1]
    stats = orjson.loads(run(shop, "stats", "--json").output)
    assert stats == [{"queue": "sync", "pending": 0, "scheduled": 1, "available": 1,
                      "running": 0, "retryable": 0, "completed": 0, "discarded": 1,
                      "cancelled": 0, "oldest_wait_s": 0.0}]
    table = run(shop, "jobs", "list", "--state", "discarded")
    assert table.exit_code == 0 and "sync_product" in table.output


def test_retry_all_failed_with_dry_run_first(shop: Conveyor) -> None:
    dry = run(shop, "retry", "--all-failed", "--dry-run")
    assert (dry.exit_code, dry.output.strip()) == (0, "would retry 1 job")
    assert states(shop)[1] == JobState.DISCARDED
    done = run(shop, "retry", "--all-failed", "--actor", "alice")
    assert done.output.strip() == "did retry 1 job"
    assert states(shop)[1] == JobState.AVAILABLE
    assert raw(shop.url, "SELECT actor, action, count FROM conveyor_audit") == \
        [("alice", "retry", 1)]


def test_cancel_delete_flush(shop: Conveyor) -> None:
    assert run(shop, "cancel", "--queue", "sync").output.strip() == "did cancel 2 jobs"
    assert run(shop, "delete", "2").output.strip() == "did delete 1 job"
    assert run(shop, "flush").output.strip() == "did delete 1 job"
    assert states(shop) == {3: JobState.CANCELLED}


def test_edit_changes_a_waiting_job(shop: Conveyor) -> None:
    result = run(shop, "edit", "3", "--priority", "7", "--args", "[30, 1]",
                 "--run-at", "2030-01-01T09:00:00+00:00")
    assert result.exit_code == 0, result.output
    job = shop.get(3)
    assert (job.priority, list(job.args), job.run_at.year) == (7, [30, 1], 2030)


def test_edit_retry_fixes_a_failed_job_and_runs_it_again(shop: Conveyor) -> None:
    result = run(shop, "edit", "1", "--args", "[10, 1]", "--retry")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "edited and retried job 1"
    job = shop.get(1)
    assert (job.state, job.attempt, list(job.args)) == (JobState.AVAILABLE, 0, [10, 1])
    shop.drain()
    assert shop.get(1).state == JobState.COMPLETED


def test_edit_without_anything_to_change_is_a_usage_error(shop: Conveyor) -> None:
    result = run(shop, "edit", "1")
    assert result.exit_code == 2 and "--retry" in result.output


def test_monitor_exit_code(shop: Conveyor, clock: object) -> None:
    assert run(shop, "monitor", "--max-wait", "60").exit_code == 0
    shop.clock.advance(120)  # type: ignore[attr-defined]
    late = run(shop, "monitor", "--max-wait", "60")
    assert late.exit_code == 1 and "queue sync" in late.output


@pytest.mark.parametrize(("args", "code", "message"), [
    (["cancel", "424242"], 1, "no job with id 424242"),
    (["jobs", "show", "424242"], 1, "no job with id 424242"),
    (["jobs", "list", "--state", "exploded"], 2, "'exploded' is not one of"),
    (["edit", "3", "--args", "[1, 2"], 2, "not valid JSON"),
    (["edit", "3", "--args", "[1, 2, 3]"], 1, "do not match"),
    (["edit", "2", "--retry"], 1, "only"),
    (["retry"], 2, "give job ids or a filter"),
])
def test_bad_input_is_one_line_and_changes_nothing(shop: Conveyor, args: list[str], code: int,
                                                   message: str) -> None:
    before = [(j.id, j.state, j.priority, list(j.args)) for j in shop.jobs()]
    result = run(shop, *args)
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output
    assert [(j.id, j.state, j.priority, list(j.args)) for j in shop.jobs()] == before


def test_migrate_command(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/fresh.db"
    first = CliRunner().invoke(cli, ["--url", url, "migrate"])
    assert first.exit_code == 0 and "applied migrations 1, 2" in first.output
    again = CliRunner().invoke(cli, ["--url", url, "migrate"])
    assert "up to date" in again.output
    bad = CliRunner().invoke(cli, ["--url", "mysql://x/y", "migrate"])
    assert bad.exit_code == 1 and "unknown scheme 'mysql'" in bad.output


def test_filters_by_argument_content_and_time(shop: Conveyor) -> None:
    dry = run(shop, "cancel", "--args-contains", "[3]", "--dry-run")
    assert dry.output.strip() == "would cancel 1 job"
    by_kw = run(shop, "cancel", "--args-contains", '{"product_id": 2}', "--dry-run")
    assert by_kw.exit_code == 0  # passed positionally
    assert by_kw.output.strip() == "nothing to do: no matching job to cancel"
    since = run(shop, "delete", "--since", "2000-01-01T00:00:00+00:00", "--dry-run")
    assert since.output.strip() == "would delete 3 jobs"
    bad = run(shop, "cancel", "--args-contains", "{oops", "--dry-run")
    assert bad.exit_code == 2 and "not valid JSON" in bad.output
    naive = run(shop, "cancel", "--since", "2026-01-01 00:00:00", "--dry-run")
    assert naive.exit_code == 2


def test_secrets_in_keyword_arguments_never_reach_listings(app: Conveyor) -> None:
    sentinel = "EAAG-sentinel-token-5f1d"

    @app.job(name="send")
    def send(to: str, access_token: str) -> None: ...

    job = send.enqueue("+48600000000", access_token=sentinel)
    for args in (["jobs", "show", str(job.id), "--json"], ["jobs", "show", str(job.id)],
                 ["jobs", "list", "--json"], ["jobs", "list"]):
        result = run(app, *args)
        assert result.exit_code == 0
        assert sentinel not in result.output
    assert "+48600000000" in run(app, "jobs", "show", str(job.id), "--json").output
