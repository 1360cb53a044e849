"""Every state-changing operator command leaves an audit row - actor, time, action, what it
acted on, how many rows - on every backend."""

from __future__ import annotations

from typing import Any

import orjson

from conveyor import Conveyor
from tests.cli.harness import run
from tests.conftest import raw


def _audit(url: str) -> list[tuple[str, str, dict[str, Any], int]]:
    rows = raw(url, "SELECT actor, action, filter, count, at FROM conveyor_audit ORDER BY id")
    assert all(row[4] is not None for row in rows)
    return [(actor, action, orjson.loads(target) if isinstance(target, str) else target, count)
            for actor, action, target, count, _ in rows]


def test_every_operator_command_is_audited(app: Conveyor) -> None:
    @app.job(name="work", queue="q", max_attempts=1)
    def work(n: int) -> None:
        if n < 0:
            raise ValueError("negative")

    @app.job(name="send", rate_limit="10/s", rate_key=lambda account: f"wa:{account}")
    def send(account: int) -> None: ...

    app.cron("0 * * * *", work, args=(1,), name="nightly")
    failed = work.enqueue(-1)
    send.enqueue(1)
    batch = app.batch([work.s(-2), work.s(3)], allow_failures=True)
    app.drain()
    waiting = work.options(delay=600).enqueue(2)
    steps: list[tuple[list[str], str, dict[str, Any], int]] = [
        (["retry", str(failed.id)], "retry", {"ids": [failed.id]}, 1),
        (["cancel", str(failed.id)], "cancel", {"ids": [failed.id]}, 1),
        (["edit", str(waiting.id), "--priority", "3"], "edit", {"ids": [waiting.id]}, 1),
        (["delete", str(waiting.id)], "delete", {"ids": [waiting.id]}, 1),
        (["batches", "retry", str(batch.id)], "retry", {"batch_ids": [batch.id]}, 1),
        (["batches", "cancel", str(batch.id)], "cancel", {"batch_ids": [batch.id]}, 1),
        (["flush"], "delete", {"states": ["discarded"]}, 0),
        (["prune"], "prune", {"retention": {"completed": 86400.0, "cancelled": 604800.0,
                                            "discarded": 604800.0}}, 0),
        (["pause", "q"], "pause", {"queue": "q"}, 1),
        (["resume", "q"], "resume", {"queue": "q"}, 1),
        (["resume", "q"], "resume", {"queue": "q"}, 0),
        (["pause", "--key", "wa:1"], "pause", {"key": "wa:1@10/s"}, 1),
        (["resume", "--key", "wa:1"], "resume", {"key": "wa:1@10/s"}, 1),
        (["cron", "pause", "nightly"], "pause_cron", {"schedule": "nightly"}, 1),
        (["cron", "resume", "nightly"], "resume_cron", {"schedule": "nightly"}, 1),
        (["cron", "delete", "nightly"], "delete_cron", {"schedule": "nightly"}, 1),
    ]
    for args, action, target, count in steps:
        before = len(_audit(app.url))
        result = run(app, *args, "--actor", "alice")
        assert result.exit_code == 0, (args, result.output)
        (row,) = _audit(app.url)[before:]
        recorded = {key: row[2].get(key) for key in target}  # job filters name states too
        assert (row[0], row[1], recorded, row[3]) == ("alice", action, target, count), args
