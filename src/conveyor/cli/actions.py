"""Commands that change jobs: retry, cancel, delete, edit, flush, prune; and the queue
health commands stats and monitor. All go through `app.admin`, like the dashboard."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click
import orjson

from conveyor import JobFilter, admin, changes, model
from conveyor.cli import context, output, params
from conveyor.cli.jobs import STATES

_TIME_FORMATS = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z"]


def filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Job ids as arguments, or a filter: --state/--queue/--name (repeatable)."""
    options = [
        click.argument("ids", nargs=-1, type=params.ID),
        click.option("--state", "states", multiple=True, type=STATES),
        click.option("--queue", "queues", multiple=True),
        click.option("--name", "names", multiple=True),
        click.option("--args-contains", "contains", metavar="JSON",
                     help='Positional values (a JSON list) or keyword values (a JSON object) '
                          'the arguments must contain, e.g. \'{"shop_id": 2}\'.'),
        click.option("--since", type=click.DateTime(_TIME_FORMATS),
                     help="Enqueued at or after (with a UTC offset)."),
        click.option("--until", type=click.DateTime(_TIME_FORMATS),
                     help="Enqueued before (with a UTC offset)."),
        click.option("--dry-run", is_flag=True, help="Only say how many jobs would change."),
        params.ACTOR,
    ]
    return functools.reduce(lambda cmd, option: option(cmd), reversed(options), command)


def _act(obj: context.CliContext, change: changes.Change, where: JobFilter, dry_run: bool,
         actor: str) -> None:
    if not any((where.ids, where.states, where.queues, where.names, where.args_contains,
                where.kwargs_contains, where.inserted_after, where.inserted_before)):
        raise click.UsageError("give job ids or a filter (--state, --queue, --name, "
                               "--args-contains, --since, --until)")
    with context.failing_cleanly(obj) as app:
        result = app.admin.apply(change, where, actor=actor, dry_run=dry_run)
    click.echo(describe(result))


def describe(result: admin.ActionResult) -> str:
    """What an action did (or would do): jobs changed, and running jobs asked to stop."""
    if result.count == 0:
        return f"nothing to do: no matching job to {result.verb}"
    changed = result.count - result.requested
    said = []
    if changed or not result.requested:
        said.append(f"{'would' if result.dry_run else 'did'} {result.verb} {_jobs(changed)}")
    if result.requested:
        said.append(f"{'would ask' if result.dry_run else 'asked'} "
                    f"{_jobs(result.requested, 'running job')} to stop (at its worker's "
                    "next heartbeat)")
    return "; ".join(said)


def _jobs(count: int, noun: str = "job") -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def _filter(ids: tuple[int, ...], states: tuple[str, ...], queues: tuple[str, ...],
            names: tuple[str, ...], contains: str | None, since: datetime | None,
            until: datetime | None) -> JobFilter:
    for bound, flag in ((since, "--since"), (until, "--until")):
        if bound is not None and bound.tzinfo is None:
            raise click.BadParameter("give a UTC offset, e.g. 2026-05-01T09:00:00+02:00",
                                     param_hint=flag)
    args_contains, kwargs_contains = _contains(contains)
    return JobFilter(ids=ids, states=[model.JobState(s) for s in states], queues=queues,
                     names=names, args_contains=args_contains,
                     kwargs_contains=kwargs_contains, inserted_after=since,
                     inserted_before=until)


def _contains(text: str | None) -> tuple[list[Any], dict[str, Any]]:
    if text is None:
        return [], {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint="--args-contains") \
            from None
    if isinstance(value, list):
        return value, {}
    if isinstance(value, dict):
        return [], value
    raise click.BadParameter("expected a JSON list or object", param_hint="--args-contains")


@click.command()
@filter_options
@click.option("--all-failed", is_flag=True, help="Every discarded job.")
@click.pass_obj
def retry(obj: context.CliContext, ids: tuple[int, ...], states: tuple[str, ...],
          queues: tuple[str, ...], names: tuple[str, ...], contains: str | None,
          since: datetime | None, until: datetime | None, dry_run: bool, actor: str,
          all_failed: bool) -> None:
    """Run jobs again now, with fresh attempts."""
    if all_failed:
        states = (*states, model.JobState.DISCARDED.value)
    where = _filter(ids, states, queues, names, contains, since, until)
    _act(obj, changes.RetryJobs(), where, dry_run, actor)


@click.command()
@filter_options
@click.pass_obj
def cancel(obj: context.CliContext, ids: tuple[int, ...], states: tuple[str, ...],
           queues: tuple[str, ...], names: tuple[str, ...], contains: str | None,
           since: datetime | None, until: datetime | None, dry_run: bool, actor: str) -> None:
    """Cancel waiting jobs; running ones get a cancel request."""
    where = _filter(ids, states, queues, names, contains, since, until)
    _act(obj, changes.CancelJobs(), where, dry_run, actor)


@click.command()
@filter_options
@click.pass_obj
def delete(obj: context.CliContext, ids: tuple[int, ...], states: tuple[str, ...],
           queues: tuple[str, ...], names: tuple[str, ...], contains: str | None,
           since: datetime | None, until: datetime | None, dry_run: bool, actor: str) -> None:
    """Delete jobs for good (never running ones)."""
    where = _filter(ids, states, queues, names, contains, since, until)
    _act(obj, changes.DeleteJobs(), where, dry_run, actor)


@click.command()
@click.option("--dry-run", is_flag=True)
@params.ACTOR
@click.pass_obj
def flush(obj: context.CliContext, dry_run: bool, actor: str) -> None:
    """Delete every discarded job."""
    _act(obj, changes.DeleteJobs(), JobFilter(states=[model.JobState.DISCARDED]), dry_run,
         actor)


@click.command()
@click.argument("job_id", type=params.ID)
@click.option("--priority", type=params.PRIORITY)
@click.option("--queue")
@click.option("--run-at", type=click.DateTime(_TIME_FORMATS),
              help="With a UTC offset, e.g. 2026-05-01T09:00:00+02:00.")
@click.option("--args", "args_json", metavar="JSON",
              help='Positional arguments as a JSON list, or {"args": [...], "kwargs": {...}}.')
@click.option("--retry", is_flag=True,
              help="Also run the job again with fresh attempts (at --run-at, or now), in the "
                   "same transaction: a failed or cancelled job is fixed and re-queued.")
@params.ACTOR
@click.pass_obj
def edit(obj: context.CliContext, job_id: int, priority: int | None, queue: str | None,
         run_at: datetime | None, args_json: str | None, retry: bool, actor: str) -> None:
    """Change the priority, queue, run time or arguments of a job that waits, failed or
    was cancelled; with --retry, run it again too."""
    fields: dict[str, Any] = {"priority": priority, "queue": queue, "run_at": run_at}
    if args_json is not None:
        fields.update(_parse_args(args_json))
    if not retry and all(value is None for value in fields.values()):
        raise click.UsageError(
            "nothing to edit: give --priority, --queue, --run-at, --args or --retry")
    with context.failing_cleanly(obj) as app:
        app.admin.edit(job_id, actor=actor, retry=retry, **fields)
    click.echo(f"edited and retried job {job_id}" if retry else f"edited job {job_id}")


def _parse_args(text: str) -> dict[str, Any]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint="--args") from None
    if isinstance(value, list):
        return {"args": value}
    if isinstance(value, dict) and set(value) <= {"args", "kwargs"}:
        return {"args": value.get("args"), "kwargs": value.get("kwargs")}
    raise click.BadParameter('expected a JSON list or {"args": [...], "kwargs": {...}}',
                             param_hint="--args")


@click.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def stats(obj: context.CliContext, as_json: bool) -> None:
    """Jobs per queue and state, and how long the oldest available job has waited."""
    with context.failing_cleanly(obj, read_only=True) as app:
        snapshot = app.admin.stats()
    states = [s.value for s in model.JobState]
    rows = [[queue, *(snapshot.counts.get((queue, model.JobState(s)), 0) for s in states),
             round(snapshot.waiting_seconds(queue), 1)] for queue in snapshot.queues()]
    if as_json:
        output.emit_json([dict(zip(["queue", *states, "oldest_wait_s"], row, strict=True))
                          for row in rows])
    else:
        output.table("queues", ["queue", *states, "oldest wait (s)"], rows)


@click.command()
@click.option("--max-wait", required=True, type=params.Seconds(),
              help="Seconds the oldest available job of a queue may wait.")
@click.option("--queue", "queues", multiple=True, help="Only these queues (repeatable).")
@click.pass_obj
def monitor(obj: context.CliContext, max_wait: float, queues: tuple[str, ...]) -> None:
    """Exit 1 when a queue's oldest available job waited longer than --max-wait."""
    with context.failing_cleanly(obj, read_only=True) as app:
        snapshot = app.admin.stats()
    late = {q: snapshot.waiting_seconds(q) for q in (queues or snapshot.queues())
            if snapshot.waiting_seconds(q) > max_wait}
    for queue, waited in sorted(late.items()):
        click.echo(f"queue {queue}: oldest available job has waited {waited:.0f}s "
                   f"(limit {max_wait:g}s)", err=True)
    if late:
        raise SystemExit(1)
    click.echo("ok")


@click.command()
@params.ACTOR
@click.pass_obj
def prune(obj: context.CliContext, actor: str) -> None:
    """Delete finished jobs past their retention now (the leader also does this)."""
    with context.failing_cleanly(obj) as app:
        count = app.admin.prune(actor=actor)
    click.echo(f"pruned {count} jobs")

