"""Each dialect's `queries.sql` provides every statement the shared layer (`orchestrate` and
the modules of `conveyor.backends.sql`) names: defined, binding only parameters the shared
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
from conveyor.backends import base, sqlfile
from conveyor.backends.postgres import rows as postgres_rows
from conveyor.backends.sql import audit, binding, chores, claim, limits, listing, metrics, schedules
from conveyor.backends.sql import batches as sql_batches
from conveyor.backends.sql import inserts as sql_inserts
from conveyor.backends.sqlite import plans as sqlite_driver
from conveyor.backends.sqlite import rows as sqlite_rows

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
}
"""A value of the right type for every parameter the plans pass (matching nothing)."""
SHARED = [claim, chores, sql_inserts, sql_batches, schedules, limits, audit, listing, metrics]
"""Modules of `conveyor.backends.sql` that run named statements; each declares `READS`."""
SHARED_SAMPLE: dict[str, Any] = {
    "name": "nothing", "expression": "* * * * *", "timezone": "UTC", "definition": "{}",
    "now": NOW, "slot": NOW, "seen": NOW, "paused": True, "key": "k", "queue": "q",
    "actor": "test", "until": NOW, "action": "test", "count": 0, "filter_json": "{}",
    "audit_id": 0, "ids": [], "before_id": base.MAX_ID, "limit": 10, "job_id": 0,
    "id": 0, "after_id": 0, "rows": 10, "cap": None, "before": NOW, "names": ["n"],
    "served": ["q"], "worker": "w", "since": NOW, "tats": [0.0], "blocked": [0.0],
    "holder": "conformance", "takeover_before": NOW, "expires_at": NOW, "state": "completed",
    "keys": ["k"], "args": [], "kwargs": [], "priorities": [], "run_ats": [],
    "allow_failures": False, "callbacks": "{}", "present": None, "unique_keys": [],
}
"""A value for every parameter the shared modules pass (`seen` is a definition's text for
`redefine_schedule`, a slot's time for `advance_schedule`), but a job filter's."""
FILTER = {"sqlite": sqlite_rows.filter_params(base.JobFilter()),
          "postgres": postgres_rows.filter_params(base.JobFilter())}
"""A job filter's parameters, bound each engine's way."""
TALLIES = {"sqlite": sqlite_rows.metric_params([]), "postgres": postgres_rows.metric_params([])}
"""`record_metrics`' parameters (no rows), bound each engine's way."""


def named() -> dict[str, set[str]]:
    """Statement name -> parameter names, for every `Query("name", {...})` in orchestrate."""
    found: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(inspect.getsource(orchestrate))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Query":
            name, params = node.args
            assert isinstance(name, ast.Constant) and isinstance(params, ast.Dict)
            keys = {k.value for k in params.keys if isinstance(k, ast.Constant)}
            found.setdefault(str(name.value), set()).update(map(str, keys))
    return found


def test_the_shared_layer_declares_what_it_reads_of_every_statement_it_names() -> None:
    assert set(named()) == set(orchestrate.READS)
    assert set().union(*named().values()) <= set(SAMPLE)


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_every_named_statement_binds_only_what_the_plan_passes(dialect: str) -> None:
    queries = sqlfile.load(f"conveyor.backends.{dialect}")
    for name, params in named().items():
        assert name in queries, f"{dialect} lacks statement {name!r}"
        used = set(PLACEHOLDERS[dialect].findall(queries[name]))
        assert used <= params, f"{dialect} {name} binds {used - params}, not passed"
    for name in SETTLING:
        assert name in queries, f"{dialect} lacks settling statement {name!r}"


RUNNERS = ("rows", "job_rows", "statement", "_audited", "Query")
"""What the shared modules call with a statement's name and its parameters first: the
driver's `rows`, `job_rows` and `statement`, `schedules._audited`, and a plan's `Query` step."""


def _keys(node: ast.expr | None, scope: dict[str, set[str] | None],
          spreads: dict[str, set[str]]) -> set[str] | None:
    """The keys of a parameters expression: a dict display (with `**` of what `scope` or
    `spreads` knows), a name assigned one, or a driver call that builds them."""
    if node is None:
        return set()
    if isinstance(node, ast.Name):
        return scope.get(node.id)
    if isinstance(node, ast.Call):
        return spreads.get(getattr(node.func, "attr", ""))
    if not isinstance(node, ast.Dict):
        return None
    found: set[str] = set()
    for key, value in zip(node.keys, node.values, strict=True):
        more = {str(key.value)} if isinstance(key, ast.Constant) else \
            _keys(value, scope, spreads)
        if more is None:
            return None
        found |= more
    return found


def _passed(module: Any, dialect: str) -> dict[str, set[str] | None]:
    """Statement name -> the parameters a module passes it, for every call naming it by a
    constant (None: some call passes parameters the test cannot read off the source)."""
    spreads = {"filter_params": set(FILTER[dialect]),
               "page_params": set(binding.page_params(base.JobFilter())),
               "metric_params": set(TALLIES[dialect])}
    tree = ast.parse(inspect.getsource(module))
    methods = [node for top in tree.body
               for node in (top.body if isinstance(top, ast.ClassDef) else [top])
               if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    found: dict[str, set[str] | None] = {}
    for method in methods:  # with the functions nested in it, which share its names
        scope: dict[str, set[str] | None] = {}
        for node in ast.walk(method):
            if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    if isinstance(target, ast.Name):
                        scope[target.id] = _keys(node.value, scope, spreads)
        for node in ast.walk(method):
            if not isinstance(node, ast.Call):
                continue
            called = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            if called in RUNNERS and node.args:
                params = _keys(node.args[1] if len(node.args) > 1 else None, scope, spreads)
                for name in _names(node.args[0]):
                    had = found.get(name, set())
                    found[name] = None if params is None or had is None else had | params
    return found


def _names(node: ast.expr) -> list[str]:
    """The statement a call names: a constant, or either constant of a conditional."""
    if isinstance(node, ast.Constant):
        return [str(node.value)]
    if isinstance(node, ast.IfExp):
        return _names(node.body) + _names(node.orelse)
    return []


@pytest.mark.parametrize("module", SHARED, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_each_shared_module_declares_the_statements_it_runs(module: Any) -> None:
    assert set(_passed(module, "sqlite")) <= set(module.READS)


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_every_statement_of_the_shared_modules_binds_only_what_they_pass(dialect: str) -> None:
    """Exactly, where the source shows the parameters; else within every parameter any
    shared module passes (`SHARED_SAMPLE`)."""
    queries = sqlfile.load(f"conveyor.backends.{dialect}")
    for module in SHARED:
        passed_by_name = _passed(module, dialect)
        assert any(passed_by_name.values()), f"no parameters read off {module.__name__}"
        for name in module.READS:
            assert name in queries, f"{dialect} lacks statement {name!r} ({module.__name__})"
            passed = passed_by_name.get(name)
            if passed is None:
                passed = set(SHARED_SAMPLE) | set(FILTER[dialect]) | set(TALLIES[dialect])
            used = set(PLACEHOLDERS[dialect].findall(queries[name]))
            assert used <= passed, f"{dialect} {name} binds {used - passed}, not passed"


def _shared_calls(dialect: str) -> dict[str, dict[str, Any]]:
    calls = {name: {**SAMPLE, **SHARED_SAMPLE, **FILTER[dialect]}
             for module in SHARED for name in module.READS}
    calls["redefine_schedule"]["seen"] = "{}"
    for name in ("record_metrics", "record_metric_totals"):
        calls[name].update(TALLIES[dialect])
    return calls


def _orchestrate_calls() -> dict[str, dict[str, Any]]:
    return {name: dict(SAMPLE) for name in orchestrate.READS}


def _columns_sqlite(tmp_path: Any, calls: dict[str, dict[str, Any]],
                    ) -> dict[str, set[str] | None]:
    import asyncio

    from conveyor.backends.sqlite.backend import SqliteBackend

    path = tmp_path / "conformance.db"
    asyncio.run(SqliteBackend(f"sqlite:///{path}").migrate())
    queries = sqlfile.load("conveyor.backends.sqlite")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    try:
        found = {}
        for name, params in calls.items():
            cur = conn.execute(queries[name], sqlite_driver.bind(params))
            found[name] = None if cur.description is None else {c[0] for c in cur.description}
        return found
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def _columns_postgres(url: str, calls: dict[str, dict[str, Any]],
                      ) -> dict[str, set[str] | None]:
    queries = sqlfile.load("conveyor.backends.postgres")
    with psycopg.connect(url) as conn:
        found = {}
        for name, params in calls.items():
            cur = conn.execute(queries[name], params)  # type: ignore[call-overload]
            found[name] = None if cur.description is None else {c.name for c in cur.description}
        conn.rollback()
        return found


@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("postgres",
                                                            marks=pytest.mark.postgres)])
def test_every_named_statement_returns_the_columns_the_plan_reads(
        dialect: str, tmp_path: Any, request: pytest.FixtureRequest) -> None:
    columns = _columns_sqlite(tmp_path, _orchestrate_calls()) if dialect == "sqlite" else \
        _columns_postgres(request.getfixturevalue("pg_url"), _orchestrate_calls())
    for name, reads in orchestrate.READS.items():
        assert columns[name] is not None, f"{dialect} {name} returns no rows"
        assert reads <= columns[name], f"{dialect} {name} lacks {reads - columns[name]}"


@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("postgres",
                                                            marks=pytest.mark.postgres)])
def test_every_statement_of_the_shared_modules_returns_the_columns_they_read(
        dialect: str, tmp_path: Any, request: pytest.FixtureRequest) -> None:
    calls = _shared_calls(dialect)
    columns = _columns_sqlite(tmp_path, calls) if dialect == "sqlite" else \
        _columns_postgres(request.getfixturevalue("pg_url"), calls)
    for module in SHARED:
        for name, reads in module.READS.items():
            if reads:
                assert columns[name] is not None, f"{dialect} {name} returns no rows"
                assert reads <= columns[name], f"{dialect} {name} lacks {reads - columns[name]}"
