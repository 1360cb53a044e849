"""`conveyor cron ...`: cron schedules for operators (list, pause, resume, delete, run)."""

from __future__ import annotations

import dataclasses

import click

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
@params.ACTOR
@click.pass_obj
def pause_schedule(obj: context.CliContext, name: str, actor: str) -> None:
    """Stop a schedule from firing, for every scheduler."""
    with context.failing_cleanly(obj) as app:
        app.pause_cron(name, True, actor=actor)
    click.echo(f"paused cron schedule {name}")


@cron.command("resume")
@click.argument("name")
@params.ACTOR
@click.pass_obj
def resume_schedule(obj: context.CliContext, name: str, actor: str) -> None:
    """Let a schedule fire again (slots missed while paused are skipped)."""
    with context.failing_cleanly(obj) as app:
        app.pause_cron(name, False, actor=actor)
    click.echo(f"resumed cron schedule {name}")


@cron.command("delete")
@click.argument("name")
@params.ACTOR
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
@params.ACTOR
@click.pass_obj
def run_schedule(obj: context.CliContext, name: str, actor: str) -> None:
    """Enqueue a stored schedule's job now, outside its slots (they stay as they are)."""
    with context.failing_cleanly(obj) as app:
        job = app.admin.run_cron(name, actor=actor)
    click.echo(f"enqueued job {job.id} ({job.name}) for cron schedule {name}")
