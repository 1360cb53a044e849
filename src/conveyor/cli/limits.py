"""`conveyor pause|resume|limits`: pausing queues and rate-limit keys for every worker, and
the keys' state (as the dashboard's limits page)."""

from __future__ import annotations

from datetime import datetime

import click

from conveyor.cli import context, output, params


def _target(queue: str | None, key: str | None) -> dict[str, str | None]:
    if (queue is None) == (key is None):
        raise click.UsageError("give a QUEUE or --key KEY")
    return {"queue": queue, "key": key}


def _set_paused(obj: context.CliContext, queue: str | None, key: str | None, actor: str,
                paused: bool) -> None:
    target = _target(queue, key)
    with context.failing_cleanly(obj) as app:
        known = app.admin.known(**target)
        done = app.admin.pause(**target, paused=paused, actor=actor)
    what = f"queue {queue!r}" if queue is not None else f"rate-limit key {key!r}"
    if not known:
        unknown = ("has never had a job: no job of this app declares it and none is stored"
                   if queue is not None else "has not limited any job yet")
        click.echo(f"warning: {what} {unknown} (a typo?)", err=True)
    if done:
        click.echo(f"{'paused' if paused else 'resumed'} {', '.join(done)}")
    else:
        click.echo(f"nothing to do: {what} is {'already paused' if paused else 'not paused'}")


@click.command()
@click.argument("queue", required=False)
@click.option("--key", help="A rate-limit key instead of a queue, e.g. wa:123.")
@params.ACTOR
@click.pass_obj
def pause(obj: context.CliContext, queue: str | None, key: str | None, actor: str) -> None:
    """Stop every worker from starting jobs of a queue or a key (running ones finish)."""
    _set_paused(obj, queue, key, actor, paused=True)


@click.command()
@click.argument("queue", required=False)
@click.option("--key", help="A rate-limit key instead of a queue.")
@params.ACTOR
@click.pass_obj
def resume(obj: context.CliContext, queue: str | None, key: str | None, actor: str) -> None:
    """Let workers start jobs of a paused queue or key again."""
    _set_paused(obj, queue, key, actor, paused=False)


@click.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def limits(obj: context.CliContext, as_json: bool) -> None:
    """Rate-limit keys (next free slot, blocked until, paused, waiting jobs), paused queues."""
    with context.failing_cleanly(obj, read_only=True) as app:
        state = app.admin.limits()
    rows = [[k.key, _time(k.next_slot), _time(k.blocked_until), k.paused, k.waiting]
            for k in state.keys]
    columns = ["key", "next_slot", "blocked_until", "paused", "waiting"]
    if as_json:
        output.emit_json({"keys": [dict(zip(columns, row, strict=True)) for row in rows],
                          "paused_queues": state.paused_queues})
        return
    output.table("rate-limit keys", columns,
                 [["-" if cell is None else cell for cell in row] for row in rows])
    click.echo(f"paused queues: {', '.join(state.paused_queues) or 'none'}")


def _time(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()
