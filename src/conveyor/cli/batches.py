"""`conveyor batches ...`: batches for operators (list, show, cancel, retry)."""

from __future__ import annotations

import click

from conveyor import batches as batch_model
from conveyor.cli import context, output, params


def _row(batch: batch_model.Batch) -> list[object]:
    p = batch.progress
    return [batch.id, batch.name, p.total, p.pending, p.completed, p.failed, p.cancelled,
            f"{p.percent:g}%", batch.cancelled, p.finished_at.isoformat() if p.finished_at else ""]


_COLUMNS = ["id", "name", "total", "pending", "completed", "failed", "cancelled", "done",
            "cancelled_batch", "finished_at"]


@click.group(invoke_without_command=True)
@click.option("--limit", default=50, show_default=True, type=params.LIMIT)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def batches(ctx: click.Context, limit: int, as_json: bool) -> None:
    """List batches with their progress, newest first; `batches show|cancel|retry ID`."""
    if ctx.invoked_subcommand is not None:
        return
    with context.failing_cleanly(ctx.obj, read_only=True) as app:
        rows = [_row(b) for b in app.batches(limit)]
    if as_json:
        output.emit_json([dict(zip(_COLUMNS, row, strict=True)) for row in rows])
        return
    output.table("batches", _COLUMNS, rows)


@batches.command("show")
@click.argument("batch_id", type=params.ID)
@click.pass_obj
def show_batch(obj: context.CliContext, batch_id: int) -> None:
    """One batch's progress and the callbacks it has fired (JSON)."""
    with context.failing_cleanly(obj, read_only=True) as app:
        batch = app.get_batch(batch_id)
    output.emit_json({**dict(zip(_COLUMNS, _row(batch), strict=True)),
                      "callbacks_fired": list(batch.callbacks_fired),
                      "allow_failures": batch.allow_failures})


@batches.command("cancel")
@click.argument("batch_id", type=params.ID)
@params.ACTOR
@click.pass_obj
def cancel_batch(obj: context.CliContext, batch_id: int, actor: str) -> None:
    """Cancel a batch: its waiting jobs at once, running ones by request."""
    with context.failing_cleanly(obj) as app:
        count = app.cancel_batch(batch_id, actor=actor)
    click.echo(f"cancelled batch {batch_id} ({count} jobs)")


@batches.command("retry")
@click.argument("batch_id", type=params.ID)
@params.ACTOR
@click.pass_obj
def retry_batch(obj: context.CliContext, batch_id: int, actor: str) -> None:
    """Run a batch's failed and cancelled jobs again with fresh attempts."""
    with context.failing_cleanly(obj) as app:
        count = app.retry_batch(batch_id, actor=actor)
    click.echo(f"retrying {count} jobs of batch {batch_id}")
