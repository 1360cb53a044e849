"""`conveyor enqueue NAME`: an operator enqueues a registered job from the shell, checked
against the job's signature and options exactly as code enqueueing it would be."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click
import orjson

from conveyor.cli import context, output, params


@click.command()
@click.argument("name")
@click.option("--args", "args_json", metavar="JSON", default="[]",
              help="Positional arguments as a JSON list, e.g. '[42, \"eu\"]'.")
@click.option("--kwargs", "kwargs_json", metavar="JSON", default="{}",
              help='Keyword arguments as a JSON object, e.g. \'{"shop_id": 2}\'.')
@click.option("--queue", help="Instead of the job's own queue.")
@click.option("--priority", type=params.PRIORITY, help="Lower runs first (default: the job's).")
@click.option("--delay", type=params.Seconds(), help="Run after this many seconds.")
@click.option("--run-at", type=params.AwareTime(),
              help="Run at this time, with a UTC offset, e.g. 2026-05-01T09:00:00+02:00.")
@click.option("--json", "as_json", is_flag=True, help="Print the job as JSON.")
@params.ACTOR
@click.pass_obj
def enqueue(obj: context.CliContext, name: str, args_json: str, kwargs_json: str,
            queue: str | None, priority: int | None, delay: float | None,
            run_at: datetime | None, as_json: bool, actor: str) -> None:
    """Enqueue job NAME of the app (--app) with JSON arguments."""
    if delay is not None and run_at is not None:
        raise click.UsageError("give --delay or --run-at, not both")
    args = _json(args_json, list, "--args", "a JSON list, e.g. '[42, \"eu\"]'")
    kwargs = _json(kwargs_json, dict, "--kwargs", 'a JSON object, e.g. \'{"shop_id": 2}\'')
    overrides = {key: value for key, value in (("queue", queue), ("priority", priority),
                                               ("delay", delay), ("run_at", run_at))
                 if value is not None}
    with context.failing_cleanly(obj) as app:
        if not app.registry.names():
            raise click.UsageError("conveyor enqueue checks the arguments against the job's "
                                   "code: name the app with --app MODULE:APP (or $CONVEYOR_APP)")
        job = app.admin.enqueue(name, args, kwargs, actor=actor, **overrides)
    if as_json:
        output.emit_json({**output.job_summary(job), "duplicate": job.duplicate})
    elif job.duplicate:
        click.echo(f"nothing to do: job {job.id} ({job.name}) is already {job.state.value} "
                   "with the same unique key")
    else:
        click.echo(f"enqueued job {job.id} ({job.name}) on queue {job.queue}, "
                   f"{job.state.value}, runs at {job.run_at.isoformat()}")


def _json(text: str, kind: type, flag: str, expected: str) -> Any:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint=flag) from None
    if not isinstance(value, kind):
        raise click.BadParameter(f"expected {expected}", param_hint=flag)
    return value
