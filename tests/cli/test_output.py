"""What operator commands print: whole rows when piped, JSON where JSON is asked for, plain
names instead of Python reprs, and counts that say what happened."""

from __future__ import annotations

import orjson
import pytest

from conveyor import Conveyor, FrozenClock
from tests.cli.harness import run


@pytest.fixture
def failures(app: Conveyor) -> Conveyor:
    @app.job(name="shop.jobs.sync_product_with_a_long_name", queue="sync", max_attempts=1)
    def sync(product_id: int) -> None:
        raise ValueError(f"product {product_id}\tcannot be\nsynced")

    for n in range(4):
        sync.enqueue(n)
    app.drain()
    sync.enqueue(99)
    return app


def test_piped_tables_print_one_whole_line_per_row_even_in_narrow_terminals(
        failures: Conveyor) -> None:
    listed = run(failures, "jobs", "list", columns=60)
    header, *rows = listed.output.splitlines()
    assert header.split("\t") == ["id", "name", "queue", "state", "priority", "attempt",
                                  "run_at", "last_error"]
    assert sum("discarded" in row for row in rows) == 4  # `| grep -c discarded`
    assert all(len(row.split("\t")) == 8 for row in rows)
    assert "product 0\\tcannot be\\nsynced" in listed.output
    assert "shop.jobs.sync_product_with_a_long_name" in listed.output
    stats = run(failures, "stats", columns=60).output.splitlines()
    assert stats[1].split("\t") == ["sync", "0", "0", "1", "0", "0", "0", "4", "0", "0.0"]


def _claim_one(app: Conveyor, queue: str) -> None:
    async def claim() -> None:
        backend = await app.storage()
        assert len(await backend.claim([queue], 1, "worker-1", app.clock.now())) == 1

    app.blocking.run(claim)


def test_cancel_counts_cancelled_jobs_and_running_ones_asked_to_stop(app: Conveyor) -> None:
    @app.job(name="work")
    def work(n: int) -> None: ...

    ids = [str(work.enqueue(n).id) for n in range(4)]
    _claim_one(app, "default")  # the first one runs
    dry = run(app, "cancel", *ids, "--dry-run")
    assert dry.output.strip() == ("would cancel 3 jobs; would ask 1 running job to stop "
                                  "(at its worker's next heartbeat)")
    done = run(app, "cancel", *ids)
    assert (done.exit_code, done.output.strip()) == (
        0, "did cancel 3 jobs; asked 1 running job to stop (at its worker's next heartbeat)")
    again = run(app, "cancel", ids[0])
    assert again.output.strip() == \
        "asked 1 running job to stop (at its worker's next heartbeat)"


@pytest.mark.parametrize("args", [["flush"], ["retry", "--all-failed"],
                                  ["cancel", "--queue", "no-such-queue"],
                                  ["delete", "--state", "completed", "--dry-run"]])
def test_actions_with_nothing_to_do_succeed_and_say_so(app: Conveyor, args: list[str]) -> None:
    result = run(app, *args)
    assert result.exit_code == 0
    assert result.output.startswith("nothing to do: no matching job to ")


def test_refused_edit_names_states_plainly(failures: Conveyor) -> None:
    result = run(failures, "edit", "5", "--retry")
    assert result.exit_code == 1
    assert result.output.strip() == ("Error: job 5 is available; only cancelled, discarded, "
                                     "retryable, scheduled jobs can be edited and retried")


HUGE = "99999999999999999999"


@pytest.mark.parametrize("args", [
    ["batches", "--limit", "-1"], ["batches", "--limit", HUGE], ["batches", "show", HUGE],
    ["batches", "cancel", "0"], ["jobs", "list", "--limit", "0"],
    ["jobs", "list", "--after-id", HUGE], ["jobs", "show", HUGE], ["failed", "--limit", "-5"],
    ["cancel", HUGE], ["retry", "0"], ["delete", "--", "-3"], ["edit", "1", "--priority", HUGE],
    ["edit", HUGE, "--priority", "1"], ["monitor", "--max-wait", "nan"],
    ["monitor", "--max-wait", "-1"], ["worker", "--grace", "nan"],
    ["worker", "--max-time", "inf"],
], ids=" ".join)
def test_numbers_out_of_range_are_usage_errors(failures: Conveyor, args: list[str]) -> None:
    before = [(j.id, j.state, j.priority) for j in failures.jobs()]
    result = run(failures, *args)
    assert result.exit_code == 2, result.output
    assert "Invalid value" in result.output and "Traceback" not in result.output
    assert [(j.id, j.state, j.priority) for j in failures.jobs()] == before


def test_job_show_prints_arguments_result_and_meta_as_json(app: Conveyor) -> None:
    @app.job(name="greet")
    def greet(name: str, *, loud: bool = False) -> dict[str, object]:
        return {"said": f"hello {name}", "loud": loud, "none": None}

    job = greet.enqueue("Zoë", loud=True)
    app.drain()
    fields = dict(line.split("\t", 1) for line in run(app, "jobs", "show",
                                                      str(job.id)).output.splitlines()[1:])
    assert fields["args"] == '["Zoë"]'
    assert fields["kwargs"] == '{"loud":true}'
    assert '"none":null' in fields["result"]  # JSON, not a Python repr
    assert orjson.loads(fields["result"]) == {"said": "hello Zoë", "loud": True, "none": None}
    assert fields["meta"] == "{}"


def test_limits_show_no_epoch_and_no_block_that_has_passed(app: Conveyor,
                                                           clock: FrozenClock) -> None:
    @app.job(name="send", rate_limit="1/m", rate_key=lambda account: f"wa:{account}")
    def send(account: int) -> None: ...

    send.enqueue(1)
    app.drain()
    assert run(app, "pause", "--key", "wa:2").exit_code == 0  # a key that never limited
    clock.advance(3600)
    keys = {k["key"]: k for k in orjson.loads(run(app, "limits", "--json").output)["keys"]}
    assert keys["wa:1@1/m"]["next_slot"] is not None
    assert keys["wa:1@1/m"]["blocked_until"] is None
    assert (keys["wa:2"]["next_slot"], keys["wa:2"]["blocked_until"]) == (None, None)
    table = run(app, "limits").output
    assert "1970" not in table
    assert [line.split("\t")[:3] for line in table.splitlines()[1:3]] == [
        ["wa:1@1/m", keys["wa:1@1/m"]["next_slot"], "-"], ["wa:2", "-", "-"]]


def test_pausing_a_queue_or_key_nobody_uses_warns(app: Conveyor) -> None:
    @app.job(name="work", queue="sync")
    def work() -> None: ...

    typo = run(app, "pause", "synk")
    assert typo.exit_code == 0
    assert typo.stderr.strip() == ("warning: queue 'synk' has never had a job: no job of this "
                                   "app declares it and none is stored (a typo?)")
    assert typo.stdout.strip() == "paused synk"
    declared = run(app, "pause", "sync")
    assert (declared.stderr, declared.stdout.strip()) == ("", "paused sync")
    again = run(app, "pause", "sync")
    assert again.stdout.strip() == "nothing to do: queue 'sync' is already paused"
    assert run(app, "resume", "synk").stderr == ""  # it is paused: known now
    key = run(app, "resume", "--key", "wa:404")
    assert key.stderr.strip() == \
        "warning: rate-limit key 'wa:404' has not limited any job yet (a typo?)"
    assert key.stdout.strip() == "nothing to do: rate-limit key 'wa:404' is not paused"
