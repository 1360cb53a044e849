"""`conveyor cron ...` and `conveyor batches ...`: schedules and batches for operators."""

from __future__ import annotations

import dataclasses
import getpass

import click

from conveyor import batches as batch_model
from conveyor.cli import context, output, params


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def cron(ctx: click.Context, as_json: bool) -> None:
    """List stored and declared cron schedules with their status and next runs;
    `cron pause|resume|delete|run NAME`."""
    if ctx.invoked_subcommand is not None:
        return
    with context.failing_cleanly(ctx.obj, read_only=True) as app:
        infos = app.cron_schedules()
    if as_json:
        output.emit_json([{**dataclasses.asdict(i), "conflicts": list(i.conflicts)}
                          for i in infos])
        return
    output.table("cron schedules", ["name", "status", "expression", "timezone", "job",
                                    "misfire", "paused", "next_runs"],
                 [[i.name, i.status, i.expression, i.timezone, i.job, i.misfire, i.paused,
                   ", ".join(run.isoformat() for run in i.next_runs)] for i in infos])
    for info in infos:
        if info.conflicts:
            click.echo(f"conflict: this app declares {info.name!r} differently; the stored "
                       f"definition fires ({'; '.join(info.conflicts)}); `conveyor cron "
                       f"delete {info.name}` lets this app's be stored", err=True)


@cron.command("pause")
@click.argument("name")
@click.option("--actor", default=lambda: f"cli:{getpass.getuser()}",
              help="Recorded in the audit table.")
@click.pass_obj
def pause_schedule(obj: context.CliContext, name: str, actor: str) -> None:
    """Stop a schedule from firing, for every scheduler."""
    with context.failing_cleanly(obj) as app:
        app.pause_cron(name, True, actor=actor)
    click.echo(f"paused cron schedule {name}")


@cron.command("resume")
@click.argument("name")
@click.option("--actor", default=lambda: f"cli:{getpass.getuser()}",
              help="Recorded in the audit table.")
@click.pass_obj
def resume_schedule(obj: context.CliContext, name: str, actor: str) -> None:
    """Let a schedule fire again (slots missed while paused are skipped)."""
    with context.failing_cleanly(obj) as app:
        app.pause_cron(name, False, actor=actor)
    click.echo(f"resumed cron schedule {name}")


@cron.command("delete")
@click.argument("name")
@click.option("--actor", default=lambda: f"cli:{getpass.getuser()}",
              help="Recorded in the audit table.")
@click.pass_obj
def delete_schedule(obj: context.CliContext, name: str, actor: str) -> None:
    """Forget a stored schedule (one removed from the code keeps firing until then)."""
    with context.failing_cleanly(obj) as app:
        app.delete_cron(name, actor=actor)
        declared = name in app.schedules
    click.echo(f"deleted cron schedule {name}")
    if declared:
        click.echo(f"note: this app still declares {name!r}: its workers store it again "
                   "from the code; remove it there to stop it for good", err=True)


@cron.command("run")
@click.argument("name")
@click.option("--actor", default=lambda: f"cli:{getpass.getuser()}",
              help="Recorded in the audit table.")
@click.pass_obj
def run_schedule(obj: context.CliContext, name: str, actor: str) -> None:
    """Enqueue a stored schedule's job now, outside its slots (they stay as they are)."""
    with context.failing_cleanly(obj) as app:
        job = app.admin.run_cron(name, actor=actor)
    click.echo(f"enqueued job {job.id} ({job.name}) for cron schedule {name}")


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
@click.option("--actor", default=lambda: f"cli:{getpass.getuser()}")
@click.pass_obj
def cancel_batch(obj: context.CliContext, batch_id: int, actor: str) -> None:
    """Cancel a batch: its waiting jobs at once, running ones by request."""
    with context.failing_cleanly(obj) as app:
        count = app.cancel_batch(batch_id, actor=actor)
    click.echo(f"cancelled batch {batch_id} ({count} jobs)")


@batches.command("retry")
@click.argument("batch_id", type=params.ID)
@click.option("--actor", default=lambda: f"cli:{getpass.getuser()}")
@click.pass_obj
def retry_batch(obj: context.CliContext, batch_id: int, actor: str) -> None:
    """Run a batch's failed and cancelled jobs again with fresh attempts."""
    with context.failing_cleanly(obj) as app:
        count = app.retry_batch(batch_id, actor=actor)
    click.echo(f"retrying {count} jobs of batch {batch_id}")
