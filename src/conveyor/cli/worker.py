"""`conveyor worker`: run jobs here, or supervise several worker processes."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from collections.abc import Callable

import click

from conveyor import errors, joblog, tuning
from conveyor.cli import context, params
from conveyor.worker import queues as worker_queues
from conveyor.worker import runner, supervisor, waits

FLAGS = {
    "heartbeat_interval": "Seconds between a worker's heartbeats.",
    "lease_timeout": "Seconds without a heartbeat after which a running job is rescued.",
    "rescue_interval": "Seconds between the leader's rescue rounds.",
    "retention": "Seconds finished jobs are kept, per state: completed=86400,discarded=604800.",
    "payload_limit": "Largest arguments of a job, in bytes.",
    "result_limit": "Largest stored result, in bytes.",
    "max_errors": "Errors kept per job.",
    "error_limit": "Largest stored error text, in bytes.",
    "crash_limit": "Process crashes after which a job is discarded.",
}
"""`Settings` fields a worker takes as flags (every field also reads `CONVEYOR_<FIELD>`)."""


def _settings_flags(command: Callable[..., None]) -> Callable[..., None]:
    for field, text in reversed(FLAGS.items()):
        metavar = "STATE=SECONDS,..." if field == "retention" else \
            "N" if tuning.KINDS[field] == "count" else "SECONDS"
        command = click.option(tuning.flag_name(field), field, metavar=metavar,
                               help=f"{text} (${tuning.env_name(field)})")(command)
    return command


@click.command()
@click.option("--queues", "-q", default="", metavar="Q1,Q2",
              help="Queues to serve, most important first (default: the queues of registered "
                   "jobs, plus any queue where jobs of registered names wait).")
@click.option("--concurrency", "-c", default=10, show_default=True, type=click.IntRange(1, 10_000),
              help="Jobs run at once per process.")
@click.option("--processes", "-p", default=1, show_default=True, type=click.IntRange(1, 256),
              help="Worker processes; failed ones are replaced, and so are those that reach "
                   "--max-jobs/--max-time unless --burst.")
@click.option("--burst", is_flag=True,
              help="Exit when no job is due (with --processes: once every process is done).")
@click.option("--max-jobs", type=click.IntRange(1), help="Exit after starting this many jobs.")
@click.option("--max-time", type=params.Seconds(min_open=True),
              help="Exit after this many seconds.")
@click.option("--grace", type=params.Seconds(),
              help=f"Seconds running jobs get to finish after SIGTERM (default: ${tuning.GRACE}, "
                   "else 30).")
@click.option("--claim-ahead", is_flag=True,
              help="Claim a few jobs beyond the free slots so jobs run while the next claim "
                   "travels: for workers on another host than the database.")
@click.option("--no-migrate", is_flag=True, help="Do not create or upgrade tables on start.")
@click.option("--log-format", type=click.Choice(joblog.FORMATS), default="text",
              envvar="CONVEYOR_LOG_FORMAT", show_default=True, show_envvar=True,
              help="json: one JSON object per line, and a line per job event (started, "
                   "completed, retried, discarded, ...), secrets masked.")
@_settings_flags
@click.pass_obj
def worker(obj: context.CliContext, /, queues: str, concurrency: int, processes: int, burst: bool,
           max_jobs: int | None, max_time: float | None, grace: float | None, claim_ahead: bool,
           no_migrate: bool, log_format: str, **tunables: str | None) -> None:
    """Run jobs. Settings come from these flags, else CONVEYOR_* environment variables, else
    the app's code (see the README's table)."""
    if log_format == "json":
        joblog.json_lines()
    if processes == 1:  # a supervisor has nothing to stop cleanly while it loads the app
        runner.catch_early_signals()
    app = obj.app()
    if log_format == "json":
        joblog.log_events(app)
    given = {field: text for field, text in tunables.items() if text is not None}
    try:
        app.settings = tuning.tuned(app.settings, given, source=tuning.flag_name)
        grace = tuning.grace(30.0) if grace is None else grace
    except errors.ConfigurationError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        worker_queues.check_registered(app)
    except errors.ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    if processes > 1:
        sys.exit(supervisor.supervise(_child_command(obj, processes), processes, burst=burst))
    if no_migrate:
        app.settings = dataclasses.replace(app.settings, auto_migrate=False)
    chosen = tuple(q.strip() for q in queues.split(",") if q.strip())
    config = runner.WorkerConfig(queues=chosen, concurrency=concurrency, burst=burst,
                                 max_jobs=max_jobs, max_time=max_time, grace=grace,
                                 claim_ahead=claim_ahead)
    asyncio.new_event_loop().run_until_complete(_run_and_close(runner.Worker(app, config)))
    sys.stdout.flush()
    sys.stderr.flush()
    # Threads still running plain `def` jobs were handed back as interrupted, and tasks
    # left on the loop own nothing that is not settled: exit without waiting for either.
    os._exit(0)


async def _run_and_close(worker: runner.Worker) -> None:
    """Run the worker, then close its storage within a deadline. Not `asyncio.run`, whose
    teardown waits without bound for every task left on the loop: a task that lost its
    cancellation (a connection being opened as the pool closed) kept a stopped worker alive,
    deaf to SIGTERM."""
    try:
        await worker.run()
    finally:
        await waits.bounded(worker.app.aclose(), runner.SHUTDOWN_STEP_DEADLINE,
                            "closing storage")


def _child_command(obj: context.CliContext, processes: int) -> list[str]:
    """The same command line with `--processes 1`, for each supervised child."""
    args = sys.argv[1:]
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg in ("--processes", "-p"):
            skip = True
            continue
        if arg.startswith("--processes=") or (arg.startswith("-p") and arg[2:].isdigit()):
            continue
        out.append(arg)
    return [sys.executable, "-m", "conveyor", *out, "--processes", "1"]
