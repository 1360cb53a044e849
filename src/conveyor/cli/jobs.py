"""`conveyor jobs list|show` and `conveyor failed`: look at jobs."""

from __future__ import annotations

import click

from conveyor import JobFilter, model
from conveyor.cli import context, output, params

STATES = click.Choice([s.value for s in model.JobState])


@click.group()
def jobs() -> None:
    """Look at jobs."""


@jobs.command("list")
@click.option("--state", "states", multiple=True, type=STATES, help="Repeatable.")
@click.option("--queue", "queues", multiple=True, help="Repeatable.")
@click.option("--name", "names", multiple=True, help="Job name; repeatable.")
@click.option("--limit", default=50, show_default=True, type=params.LIMIT)
@click.option("--oldest-first", is_flag=True, help="Lowest ids first (default: newest first).")
@click.option("--before-id", type=params.ID, help="Page: only ids below this one.")
@click.option("--after-id", type=params.AFTER_ID, help="Page: only ids above this one.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def list_jobs(obj: context.CliContext, states: tuple[str, ...], queues: tuple[str, ...],
              names: tuple[str, ...], limit: int, oldest_first: bool, before_id: int | None,
              after_id: int | None, as_json: bool) -> None:
    """List jobs, newest first (the next page: --before-id with the last id shown)."""
    where = JobFilter(states=[model.JobState(s) for s in states], queues=queues, names=names,
                      limit=limit, after_id=after_id, before_id=before_id,
                      newest_first=not oldest_first)
    show_list(obj, where, "jobs", as_json)


@jobs.command("show")
@click.argument("job_id", type=params.ID)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show(obj: context.CliContext, job_id: int, as_json: bool) -> None:
    """Everything about one job, with its errors."""
    with context.failing_cleanly(obj, read_only=True) as app:
        detail = output.job_detail(app.get(job_id))
    if as_json:
        output.emit_json(detail)
        return
    errors_ = detail.pop("errors")
    output.table(f"job {job_id}", ["field", "value"],
                 [[k, output.json_text(v) if k in output.JSON_FIELDS else v]
                  for k, v in detail.items()])
    for error in errors_:
        click.echo(f"\nattempt {error['attempt']} at {error['at']}: {error['type']}: "
                   f"{error['message']}\n{error['traceback']}")


@click.command()
@click.option("--limit", default=50, show_default=True, type=params.LIMIT)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def failed(obj: context.CliContext, limit: int, as_json: bool) -> None:
    """List discarded jobs (failed for good), newest first."""
    show_list(obj, JobFilter(states=[model.JobState.DISCARDED], limit=limit, newest_first=True),
              "failed jobs", as_json)


def show_list(obj: context.CliContext, where: JobFilter, title: str, as_json: bool) -> None:
    with context.failing_cleanly(obj, read_only=True) as app:
        found = app.jobs(where)
    if as_json:
        output.emit_json([output.job_summary(job) for job in found])
    elif not found:
        click.echo(f"no {title} match")
    else:
        output.jobs_table(title, found)

