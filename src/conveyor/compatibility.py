"""Would the jobs waiting in the database still run under the code about to be deployed?

A deploy that renames a job, removes one, or changes a job's signature leaves the rows
already enqueued by the old code behind: workers running the new code discard them (unknown
job, arguments that no longer bind). `check` reads every waiting job - streamed in keyset
pages, so millions of rows take bounded memory - and holds its name and stored arguments
against the new application's registry, and does the same for stored cron schedules the new
code does not declare (those keep firing from their stored definition). It only reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from conveyor import cron, encoding, errors, model
from conveyor.backends import base

if TYPE_CHECKING:
    from conveyor.app import Conveyor

WAITING = (model.JobState.PENDING, model.JobState.SCHEDULED, model.JobState.AVAILABLE,
           model.JobState.RETRYABLE)
"""Jobs that will still be claimed (running ones were started by the old code)."""
EXAMPLES = 10
"""Job ids kept per problem, to look at."""
UNKNOWN, ARGUMENTS, MALFORMED = "unknown job", "arguments not accepted", "malformed row"


@dataclasses.dataclass(frozen=True, slots=True)
class Problem:
    """Waiting jobs (or one stored cron schedule) that would fail for the same reason."""

    kind: str
    """`unknown job`, `arguments not accepted` or `malformed row`."""
    name: str
    detail: str
    count: int
    job_ids: tuple[int, ...] = ()
    """The first ids found (at most `EXAMPLES`)."""
    schedule: str | None = None
    """The stored cron schedule whose future jobs would fail (then `count` is 0)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Report:
    checked: int
    """Waiting jobs read."""
    schedules_checked: int
    """Stored cron schedules that the new code does not declare (they keep firing)."""
    problems: list[Problem]

    @property
    def failing(self) -> int:
        """Waiting jobs that would fail."""
        return sum(problem.count for problem in self.problems)

    @property
    def ok(self) -> bool:
        return not self.problems


async def check(app: Conveyor, queues: Sequence[str] = (), chunk: int = 1000) -> Report:
    """Hold every waiting job (in `queues`, default all) and every stored schedule the app
    does not declare against `app`'s jobs and their signatures."""
    found: dict[tuple[str, str, str], list[Any]] = {}
    checked = 0
    where = base.JobFilter(states=WAITING, queues=list(queues))
    async for job in app.admin.aiter_jobs(where, order="oldest", chunk=chunk):
        checked += 1
        trouble = _trouble(app, job.name, job.args, job.kwargs, job.malformed)
        if trouble is not None:
            entry = found.setdefault((trouble[0], job.name, trouble[1]), [0, []])
            entry[0] += 1
            if len(entry[1]) < EXAMPLES:
                entry[1].append(job.id)
    problems = [Problem(kind, name, detail, count, tuple(ids))
                for (kind, name, detail), (count, ids) in found.items()]
    orphans = [state for state in await (await app.storage()).schedules()
               if state.name not in app.schedules and state.definition is not None]
    problems += [problem for state in orphans
                 if (problem := _schedule_problem(app, state)) is not None]
    return Report(checked, len(orphans), problems)


def _trouble(app: Conveyor, name: str, args: Sequence[Any], kwargs: Mapping[str, Any],
             malformed: str | None) -> tuple[str, str] | None:
    """(kind, detail) of why a job of `name` called so would fail, or None."""
    if malformed is not None:
        return MALFORMED, malformed
    job_type = app.registry.find(name)
    if job_type is None:
        return UNKNOWN, f"no job named {name!r} in the new code"
    try:
        job_type.check_arguments(args, dict(kwargs))
    except errors.InvalidArguments as exc:
        return ARGUMENTS, str(exc)
    return None


def _schedule_problem(app: Conveyor, state: base.ScheduleState) -> Problem | None:
    try:
        schedule = cron.from_definition(state.name, state.definition or "")
    except errors.InvalidSchedule as exc:
        return Problem(MALFORMED, "", str(exc), 0, schedule=state.name)
    row = schedule.job
    trouble = _trouble(app, row.name, encoding.loads(row.args_json),
                       encoding.loads(row.kwargs_json), None)
    if trouble is None:
        return None
    return Problem(trouble[0], row.name, f"cron schedule {state.name!r} (stored, not declared "
                   f"by the new code; it keeps firing): {trouble[1]}", 0, schedule=state.name)
