"""Migrations: a database upgraded from any older version, one release at a time, ends with
exactly the schema of a fresh install, keeps its jobs, and works - on both engines."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from conveyor import outcome
from conveyor.backends import base, migrate, urls
from conveyor.backends.sqlite.rows import to_micros
from conveyor.model import JobState as S
from tests.conftest import raw
from tests.contract.seam import NOW

PACKAGES = {"sqlite": "conveyor.backends.sqlite", "postgres": "conveyor.backends.postgres"}


class Databases:
    """Empty databases of one engine: SQLite files, or PostgreSQL schemas of the run's
    database (each URL sets its search_path), dropped at the end."""

    def __init__(self, engine: str, tmp_path: Path, pg_url: str | None) -> None:
        self.engine, self.tmp_path, self.pg_url, self.schemas = engine, tmp_path, pg_url, []

    def new(self) -> str:
        name = f"m{secrets.token_hex(4)}"
        if self.engine == "sqlite":
            return f"sqlite:///{self.tmp_path / name}.db"
        assert self.pg_url is not None
        raw(self.pg_url, f'CREATE SCHEMA "{name}"')
        self.schemas.append(name)
        return f"{self.pg_url}?options=-csearch_path%3D{name}"

    def drop(self) -> None:
        for name in self.schemas:
            assert self.pg_url is not None
            raw(self.pg_url, f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    pg = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    found = Databases(request.param, tmp_path, pg)
    yield found
    found.drop()


def schema(url: str) -> set[tuple[str, ...]]:
    """Every table, column, index, constraint, trigger and function, as comparable text
    (names of the schema itself left out)."""
    if url.startswith("sqlite"):
        rows = raw(url, "SELECT type, name, tbl_name, sql FROM sqlite_master "
                        "WHERE name NOT LIKE 'sqlite_%'")
        return {(kind, name, table, " ".join(str(sql).split())) for kind, name, table, sql in rows}
    with psycopg.connect(url, autocommit=True) as conn:
        here = conn.execute("SELECT current_schema()").fetchone()[0]  # type: ignore[index]
        found: set[tuple[str, ...]] = set()
        for query in (
            "SELECT 'column', table_name, column_name, data_type, coalesce(column_default, ''),"
            " is_nullable FROM information_schema.columns WHERE table_schema = current_schema()",
            "SELECT 'index', tablename, indexname, indexdef FROM pg_indexes"
            " WHERE schemaname = current_schema()",
            "SELECT 'constraint', conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE connamespace = current_schema()::regnamespace",
            "SELECT 'trigger', tgrelid::regclass::text, tgname, pg_get_triggerdef(t.oid)"
            " FROM pg_trigger AS t JOIN pg_class AS c ON c.oid = t.tgrelid"
            " WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace",
            "SELECT 'function', proname, md5(prosrc) FROM pg_proc"
            " WHERE pronamespace = current_schema()::regnamespace",
        ):
            for row in conn.execute(query):
                found.add(tuple(re.sub(rf'\b"?{here}"?\.', "", str(v)) for v in row))
        return found


async def _migrate(url: str, up_to: int | None = None,
                   monkeypatch: pytest.MonkeyPatch | None = None) -> list[int]:
    """Apply the migrations (only the first `up_to`, as an older release shipped them)."""
    if up_to is not None:
        assert monkeypatch is not None
        every = migrate.discover
        monkeypatch.setattr(migrate, "discover", lambda package: every(package)[:up_to])
    backend = urls.open_backend(url)
    try:
        return await backend.migrate()
    finally:
        await backend.close()
        if monkeypatch is not None:
            monkeypatch.undo()


async def test_every_upgrade_path_ends_with_the_fresh_schema(
        databases: Databases, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = databases.new()
    count = len(migrate.discover(PACKAGES[databases.engine]))
    assert await _migrate(fresh) == list(range(1, count + 1))
    expected = schema(fresh)
    assert len(expected) > 20  # tables, indexes, triggers... were all read
    for version in range(1, count):
        url = databases.new()
        assert await _migrate(url, version, monkeypatch) == list(range(1, version + 1))
        # a job stored by that release, with the columns it had
        micros = NOW if databases.engine == "postgres" else to_micros(NOW)
        raw(url, "INSERT INTO conveyor_jobs (name, queue, state, run_at, inserted_at) "
                 "VALUES ('old', 'default', 'available', ?, ?)", (micros, micros))
        assert await _migrate(url) == list(range(version + 1, count + 1))
        assert schema(url) == expected, f"upgraded from version {version}"
        backend = urls.open_backend(url)
        try:
            await backend.check_schema()
            (job,) = await backend.claim(["default"], 1, "w1", NOW)
            assert job.name == "old" and job.args == [] and job.state == S.RUNNING
            settled = await backend.finish([outcome.Completed(job.id, job.attempt)], NOW, 20)
            assert settled.written == {job.id}
        finally:
            await backend.close()


async def test_migrate_is_idempotent(backend: base.Backend) -> None:
    assert await backend.migrate() == []
