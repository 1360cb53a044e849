"""Each dialect's `queries.sql` provides every statement the shared layer (`orchestrate`,
`backends.sql.claim`, `backends.sql.chores`, `backends.sql.inserts`, `backends.sql.batches`)
names: defined, binding only parameters the
code passes, returning rows with the columns it reads. What a new dialect is checked against
before anything runs."""

from __future__ import annotations

import ast
import inspect
import re
import sqlite3
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from conveyor import orchestrate
from conveyor.backends import sqlfile
from conveyor.backends.sql import batches as sql_batches
from conveyor.backends.sql import chores, claim
from conveyor.backends.sql import inserts as sql_inserts
from conveyor.backends.sqlite import plans as sqlite_driver

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
PLACEHOLDERS = {"sqlite": re.compile(r"(?<!:):(\w+)"),
                "postgres": re.compile(r"%\((\w+)\)[sb]")}
SETTLING = ["complete", "fail", "snooze", "cancel_running", "interrupt", "rescue",
            "change_cancel", "change_delete", "change_retry", "change_edit", "unresolved"]
"""Statements the backends run whose rows `orchestrate.finals_of` reads."""
SAMPLE: dict[str, Any] = {
    "id": 0, "count": 0, "ids": [], "key": "k", "keys": ["k"], "job_id": 0,
    "run_on_failure": False, "errors": [], "now": NOW, "max_errors": 20, "counts": [],
    "batch_id": 0, "error": "{}", "fired": 0, "finished_at": None, "cancelled_at": None,
    "tats": [0.0], "blocked": [0.0], "worker": "conformance", "name": "conformance",
    "holder": "conformance", "takeover_before": NOW, "expires_at": NOW, "limit": 1,
    "state": "completed", "before": NOW,
    "args": [], "kwargs": [], "priorities": [], "run_ats": [],
    "allow_failures": False, "callbacks": "{}",
}
"""A value of the right type for every parameter the shared code passes (matching nothing)."""
SHARED = [orchestrate, claim, chores, sql_inserts, sql_batches]
"""Modules of the shared layer that name statements; each declares them in its `READS`."""
READS = {name: reads for module in SHARED for name, reads in module.READS.items()}
"""Statement -> the columns the shared code reads of its rows (None: it reads no rows)."""


def named(module: Any) -> dict[str, set[str]]:
    """Statement name -> parameter names, for every `Query("name", {...})` (a plan's step)
    and `tx.rows("name", {...})` / `tx.jobs(...)` / `statement(...)` (a statement the shared
    backend runs) in `module`."""
    found: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else \
            func.attr if isinstance(func, ast.Attribute) else None
        if called not in ("Query", "rows", "jobs", "statement"):
            continue
        name, params = node.args
        assert isinstance(name, ast.Constant) and isinstance(params, ast.Dict)
        keys = {k.value for k in params.keys if isinstance(k, ast.Constant)}
        found.setdefault(str(name.value), set()).update(map(str, keys))
    return found


def named_everywhere() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for module in SHARED:
        for name, params in named(module).items():
            found.setdefault(name, set()).update(params)
    return found


@pytest.mark.parametrize("module", SHARED, ids=lambda module: module.__name__)
def test_the_shared_layer_declares_what_it_reads_of_every_statement_it_names(
        module: Any) -> None:
    assert set(named(module)) == set(module.READS)
    assert set().union(*named(module).values()) <= set(SAMPLE)


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_every_named_statement_binds_only_what_the_plan_passes(dialect: str) -> None:
    queries = sqlfile.load(f"conveyor.backends.{dialect}")
    for name, params in named_everywhere().items():
        assert name in queries, f"{dialect} lacks statement {name!r}"
        used = set(PLACEHOLDERS[dialect].findall(queries[name]))
        assert used <= params, f"{dialect} {name} binds {used - params}, not passed"
    for name in SETTLING:
        assert name in queries, f"{dialect} lacks settling statement {name!r}"


def _columns_sqlite(tmp_path: Any) -> dict[str, set[str] | None]:
    import asyncio

    from conveyor.backends.sqlite.backend import SqliteBackend

    path = tmp_path / "conformance.db"
    asyncio.run(SqliteBackend(f"sqlite:///{path}").migrate())
    queries = sqlfile.load("conveyor.backends.sqlite")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    try:
        found = {}
        for name in READS:
            cur = conn.execute(queries[name], sqlite_driver.bind(dict(SAMPLE)))
            found[name] = None if cur.description is None else {c[0] for c in cur.description}
        return found
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def _columns_postgres(url: str) -> dict[str, set[str] | None]:
    queries = sqlfile.load("conveyor.backends.postgres")
    with psycopg.connect(url) as conn:
        found = {}
        for name in READS:
            cur = conn.execute(queries[name], dict(SAMPLE))  # type: ignore[call-overload]
            found[name] = None if cur.description is None else {c.name for c in cur.description}
        conn.rollback()
        return found


@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("postgres",
                                                            marks=pytest.mark.postgres)])
def test_every_named_statement_returns_the_columns_the_plan_reads(
        dialect: str, tmp_path: Any, request: pytest.FixtureRequest) -> None:
    columns = _columns_sqlite(tmp_path) if dialect == "sqlite" else \
        _columns_postgres(request.getfixturevalue("pg_url"))
    for name, reads in READS.items():
        if reads is None:  # rows not read
            continue
        found = columns[name]
        assert found is not None, f"{dialect} {name} returns no rows"
        assert reads <= found, f"{dialect} {name} lacks {reads - found}"
