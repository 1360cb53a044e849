"""`conveyor check`: waiting jobs held against the code about to be deployed, read-only."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from conveyor import Conveyor, FrozenClock, JobState, compatibility, testing
from tests.cli.harness import run, run_plain
from tests.conftest import raw


def old_code(url: str, clock: FrozenClock) -> Conveyor:
    app = Conveyor(url, clock=clock)

    @app.job(name="sync_product")
    def sync_product(product_id: int, shop_id: int) -> None: ...

    @app.job(name="old_job")
    def old_job(x: int) -> None: ...

    app.cron("0 * * * *", old_job, args=(1,), name="old-hourly")
    return app


def new_code(url: str, clock: FrozenClock, *, compatible: bool = False) -> Conveyor:
    app = Conveyor(url, clock=clock)
    if compatible:
        @app.job(name="sync_product")
        def sync_product(product_id: int, shop_id: int, force: bool = False) -> None: ...

        @app.job(name="old_job")
        def old_job(x: int) -> None: ...
    else:
        @app.job(name="sync_product")  # a keyword-only argument without a default
        def sync_product(product_id: int, shop_id: int, *, force: bool) -> None: ...
    return app


@pytest.fixture
def waiting(url: str, clock: FrozenClock) -> Conveyor:
    """The old code's jobs: 3 waiting sync_product, 2 old_job (one delayed), 1 completed
    old_job (not waiting), and the stored schedule old-hourly."""
    old = old_code(url, clock)
    sync, gone = old.registry.get("sync_product"), old.registry.get("old_job")
    gone.enqueue(0)
    testing.drain(old)  # runs it (completed) and stores the cron schedule, as a worker would
    sync.enqueue_many([((n, 1), {}) for n in range(3)])
    gone.enqueue(1)
    gone.options(delay=600).enqueue(2)
    old.close()
    return old


def test_jobs_the_new_code_cannot_run_are_listed_and_exit_1(
        waiting: Conveyor, url: str, clock: FrozenClock) -> None:
    new = new_code(url, clock)
    result = run(new, "check", "--json")
    assert result.exit_code == 1, result.output
    report = orjson.loads(result.output)
    assert (report["checked"], report["failing"], report["schedules_checked"]) == (5, 5, 1)
    problems = {(p["kind"], p["name"], p["schedule"]): p for p in report["problems"]}
    args = problems[("arguments not accepted", "sync_product", None)]
    assert (args["count"], args["job_ids"]) == (3, [2, 3, 4])
    assert "missing a required argument: 'force'" in args["detail"]
    unknown = problems[("unknown job", "old_job", None)]
    assert (unknown["count"], unknown["job_ids"]) == (2, [5, 6])
    cron = problems[("unknown job", "old_job", "old-hourly")]
    assert cron["count"] == 0 and "keeps firing" in cron["detail"]
    table = run(new, "check")
    assert table.exit_code == 1
    assert "sync_product\targuments not accepted\t3\t2, 3, 4\t" in table.output
    assert "3 problem(s): 5 of 5 waiting jobs would fail" in table.output


def test_compatible_code_passes_and_nothing_was_written(
        waiting: Conveyor, url: str, clock: FrozenClock) -> None:
    before = raw(url, "SELECT id, state, attempt FROM conveyor_jobs ORDER BY id")
    new = new_code(url, clock, compatible=True)
    result = run(new, "check")
    assert result.exit_code == 0, result.output
    assert "checked 5 waiting jobs" in result.output and "ok:" in result.output
    assert raw(url, "SELECT id, state, attempt FROM conveyor_jobs ORDER BY id") == before
    assert len(before) == 6 and before[0][1] == JobState.COMPLETED.value


def test_a_queue_narrows_the_check_and_pages_stream(waiting: Conveyor, url: str,
                                                   clock: FrozenClock) -> None:
    new = new_code(url, clock)
    report = new.blocking.run(lambda: compatibility.check(new, chunk=2))
    assert (report.checked, report.failing) == (5, 5)
    assert run(new, "check", "--queue", "elsewhere").exit_code == 1  # the orphaned schedule
    new.delete_cron("old-hourly")
    assert run(new, "check", "--queue", "elsewhere").exit_code == 0
    new.close()


def test_read_only_and_needs_the_new_code(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    result = run_plain("--app", "tests.cli.test_check:module_app", "--url",
                       f"sqlite:///{missing}", "check")
    assert result.exit_code == 1
    assert "there is no SQLite database" in result.output
    assert not missing.exists()
    bare = run_plain("--url", f"sqlite:///{missing}", "check")
    assert bare.exit_code == 2 and "--app MODULE:ATTR" in bare.output


module_app = Conveyor("sqlite:///unused-by-tests.db")
