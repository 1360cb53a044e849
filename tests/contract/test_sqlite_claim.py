"""SQLite's one-statement claim (`SqliteBackend.claim_alone`) when another worker empties the
queue between its `claimable` read and its statement: every waiting worker hears of a commit,
so all but one of them lose that race."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor.backends.sqlite.backend import SqliteBackend
from tests.conftest import raw
from tests.contract.seam import NOW, new


async def test_a_claim_that_lost_the_queues_jobs_ends_without_a_transaction(
        sqlite_backend: SqliteBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    backend, url = sqlite_backend, sqlite_backend.url
    await backend.insert([new()], NOW)

    def taken_first(statement: str) -> None:  # runs as a statement begins
        if "WITH plain AS" in statement:  # claim_alone: another worker claims first
            raw(url, "UPDATE conveyor_jobs SET state = 'running', attempt = 1")

    async def no_transaction(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("admission's transaction taken for an emptied queue")

    backend._connection().set_trace_callback(taken_first)
    monkeypatch.setattr(backend, "transaction", no_transaction)
    assert await backend.claim(["default"], 10, "w1", NOW) == []
    assert raw(url, "SELECT attempted_by FROM conveyor_jobs") == [(None,)]


async def test_a_claim_that_started_nothing_from_a_queue_with_jobs_takes_admission(
        sqlite_backend: SqliteBackend) -> None:
    """A paused queue still has jobs: admission decides (and starts nothing)."""
    backend = sqlite_backend
    await backend.insert([new()], NOW)
    await backend.pause(queue="default", paused=True, actor="test", now=NOW)
    assert await backend.claim_alone("default", 10, "w1", NOW, None) is None
    assert await backend.claim(["default"], 10, "w1", NOW) == []
