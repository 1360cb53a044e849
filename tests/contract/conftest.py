"""Fixtures of the SQLite-only contract tests (the shared `backend` fixture runs on both
engines)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from conveyor.backends.sqlite.backend import SqliteBackend


@pytest.fixture
async def sqlite_backend(tmp_path: Path) -> AsyncIterator[SqliteBackend]:
    """A migrated SQLite backend on `tmp_path / "jobs.db"`, closed afterwards."""
    store = SqliteBackend(f"sqlite:///{tmp_path / 'jobs.db'}")
    await store.migrate()
    yield store
    await store.close()
