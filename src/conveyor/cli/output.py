"""How commands print: rich tables for people at a terminal, plain tab-separated rows when
stdout is a pipe or a file (so `grep`, `cut` and `wc` see one line per row, never a wrapped
cell), and `--json` for scripts."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click
import orjson
from rich.console import Console
from rich.table import Table

from conveyor import model, redact


def job_summary(job: model.Job) -> dict[str, Any]:
    return {"id": job.id, "name": job.name, "queue": job.queue, "state": str(job.state),
            "priority": job.priority, "attempt": job.attempt, "max_attempts": job.max_attempts,
            "run_at": job.run_at.isoformat(), "inserted_at": job.inserted_at.isoformat(),
            "last_error": job.errors[-1].message if job.errors else None}


def job_detail(job: model.Job) -> dict[str, Any]:
    """Everything about a job, with secret-looking values masked (see `redact`)."""
    return {**job_summary(job), "args": redact.value(list(job.args)),
            "kwargs": redact.value(dict(job.kwargs)),
            "attempted_at": job.attempted_at.isoformat() if job.attempted_at else None,
            "finalized_at": job.finalized_at.isoformat() if job.finalized_at else None,
            "attempted_by": job.attempted_by, "result": redact.value(job.result),
            "meta": redact.value(dict(job.meta)),
            "errors": [e.to_json() for e in job.errors], "malformed": job.malformed}


JSON_FIELDS = ("args", "kwargs", "result", "meta")
"""Fields of `job_detail` shown as JSON text in tables (as stored, not as Python reprs)."""


def json_text(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def emit_json(value: Any) -> None:
    click.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode())


def to_terminal() -> bool:
    return sys.stdout.isatty()


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A titled table at a terminal; a header line and one tab-separated line per row
    otherwise (tabs and line breaks inside a cell are written as \\t and \\n)."""
    cells = [["" if cell is None else str(cell) for cell in row] for row in rows]
    if not to_terminal():
        for line in [list(columns), *cells]:
            click.echo("\t".join(_plain(cell) for cell in line))
        return
    grid = Table(title=title, title_justify="left")
    for column in columns:
        grid.add_column(column, overflow="fold")
    for row in cells:
        grid.add_row(*row)
    Console().print(grid)


def _plain(cell: str) -> str:
    return cell.replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n")


def jobs_table(title: str, jobs: Sequence[model.Job]) -> None:
    """At a terminal, run times to the second and errors cut at 60 characters; piped, whole."""
    columns = ["id", "name", "queue", "state", "priority", "attempt", "run_at", "last_error"]
    rows = [[s[c] if c != "attempt" else f"{s['attempt']}/{s['max_attempts']}" for c in columns]
            for s in map(job_summary, jobs)]
    if to_terminal():
        rows = [[*row[:6], row[6][:19], (row[7] or "")[:60]] for row in rows]
    table(title, columns, rows)
