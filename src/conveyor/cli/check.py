"""`conveyor check`: before a deploy, list the waiting jobs the new code could not run.

Run it with the new code as `--app` against the production database (`--url`): it only
reads (like the other read-only commands it creates no database, file or table) and exits 1
when a waiting job, or a stored cron schedule the new code does not declare, names a job the
new code lacks or carries arguments its signature no longer accepts.
"""

from __future__ import annotations

import dataclasses

import click

from conveyor import compatibility, redact
from conveyor.cli import context, output


@click.command()
@click.option("--queue", "queues", multiple=True, help="Only jobs of this queue; repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def check(obj: context.CliContext, queues: tuple[str, ...], as_json: bool) -> None:
    """Exit 1 if waiting jobs would fail under --app's code (unknown job, arguments no
    longer accepted); read-only."""
    if not obj.names_app:
        raise click.UsageError("conveyor check compares the waiting jobs with the code about "
                               "to be deployed: name it with --app MODULE:ATTR (or "
                               "$CONVEYOR_APP), and the database with --url")
    with context.failing_cleanly(obj, read_only=True) as app:
        report = app.blocking.run(lambda: compatibility.check(app, queues))
        where = redact.url(app.url)
    if as_json:
        output.emit_json({"database": where, "checked": report.checked,
                          "schedules_checked": report.schedules_checked,
                          "failing": report.failing,
                          "problems": [dataclasses.asdict(p) for p in report.problems]})
    else:
        _show(report, where)
    if not report.ok:
        raise SystemExit(1)


def _show(report: compatibility.Report, where: str) -> None:
    click.echo(f"checked {report.checked} waiting jobs and {report.schedules_checked} stored "
               f"cron schedules not declared by the code, in {where}")
    if report.ok:
        click.echo("ok: every waiting job can run under this code")
        return
    output.table("jobs that would fail", ["job", "problem", "jobs", "ids", "detail"],
                 [[p.name, p.kind, p.count if p.schedule is None else f"cron {p.schedule}",
                   ", ".join(map(str, p.job_ids)), p.detail] for p in report.problems])
    click.echo(f"{len(report.problems)} problem(s): {report.failing} of {report.checked} "
               "waiting jobs would fail", err=True)
