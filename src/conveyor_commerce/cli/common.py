"""What every `conveyor commerce` command needs: the kit on the CLI's application, errors as
one line, and output as tables or JSON. Tokens are never printed: accounts show only whether
theirs is encrypted."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import click
import orjson
from rich.console import Console
from rich.table import Table

from conveyor import ConveyorError
from conveyor_commerce.kit import Commerce


@contextlib.contextmanager
def kit(ctx: click.Context) -> Iterator[Commerce]:
    """The Commerce kit of the application `conveyor --app/--url` names."""
    app = ctx.find_root().obj.app()
    commerce = Commerce.of(app)
    try:
        yield commerce
    except ConveyorError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        commerce.close()
        app.close()


def emit_json(value: Any) -> None:
    click.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode())


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    grid = Table(title=title, title_justify="left")
    for column in columns:
        grid.add_column(column, overflow="fold")
    for row in rows:
        grid.add_row(*("" if cell is None else _cell(cell) for cell in row))
    Console().print(grid)


def _cell(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(value)


def moment(text: str | None, option: str) -> datetime | None:
    """The ISO time of a filter option (`--since`, `--until`): UTC unless it carries an
    offset; a bad one is a usage error naming `option`."""
    if text is None:
        return None
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not like 2026-05-01T09:00 (UTC) or "
                                 "2026-05-01T09:00+02:00", param_hint=option) from None
    return found.replace(tzinfo=UTC) if found.tzinfo is None else found
