"""`conveyor` command line: wiring only; each command group lives in its own module."""

from __future__ import annotations

import logging
import os
import sys
from importlib.metadata import entry_points

import click

from conveyor import errors
from conveyor.cli import (
    actions,
    admin,
    batches,
    check,
    context,
    cron,
    dashboard,
    enqueue,
    jobs,
    limits,
    worker,
)


class _Commands(click.Group):
    """Any Conveyor error a command lets through (a worker that cannot start: database
    down, tables missing) ends as one `Error: ...` line and exit status 1, never a
    traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except errors.ConveyorError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Commands)
@click.option("--app", "app_spec", envvar="CONVEYOR_APP", metavar="MODULE:ATTR",
              help="Where the Conveyor application lives, e.g. shop.jobs:app "
                   "(default: $CONVEYOR_APP).")
@click.option("--url", envvar="CONVEYOR_URL", metavar="URL",
              help="Storage URL (default: $CONVEYOR_URL). Given here with --app, it replaces "
                   "the app's own URL.")
@click.option("-v", "--verbose", count=True, help="Debug logging.")
@click.pass_context
def cli(ctx: click.Context, app_spec: str | None, url: str | None, verbose: int) -> None:
    """Conveyor: background jobs on SQLite and PostgreSQL."""
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, stream=sys.stderr,
                        format=f"%(asctime)s [{os.getpid()}] %(levelname)s %(name)s: %(message)s")
    if not isinstance(ctx.obj, context.CliContext):  # tests may pass one in
        given = ctx.get_parameter_source("url") == click.core.ParameterSource.COMMANDLINE
        ctx.obj = context.CliContext(app_spec=app_spec, url=url, url_given=given)


for command in (worker.worker, admin.migrate, enqueue.enqueue, jobs.jobs, jobs.failed,
                actions.retry, actions.cancel, actions.delete, actions.edit, actions.flush,
                actions.stats, actions.monitor, actions.prune, limits.pause, limits.resume,
                limits.limits, cron.cron, batches.batches, dashboard.dashboard, check.check):
    cli.add_command(command)


def add_plugins(group: click.Group) -> None:
    """Command groups of other packages, registered under the `conveyor.cli_plugins` entry
    point (name = the command's name). Their commands find the application as the built-in
    ones do: `ctx.obj.app()`. A plugin that fails to load is skipped with a warning."""
    for plugin in entry_points(group="conveyor.cli_plugins"):
        try:
            group.add_command(plugin.load(), name=plugin.name)
        except Exception as exc:  # a broken plugin must not take the whole CLI down
            logging.getLogger("conveyor.cli").warning("CLI plugin %r not loaded: %s",
                                                      plugin.name, exc)


add_plugins(cli)


def main() -> None:
    cli(prog_name="conveyor")
