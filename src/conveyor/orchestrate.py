"""What follows when jobs end: dependants released or cancelled, batches settled.

Written once, without I/O, as a generator of steps that each backend drives inside the
transaction that ended the jobs (see `drive` in each backend's `plans` module), so a
dependant is released, and a batch callback enqueued, exactly when - and only if - the job
that ended it is committed. Steps name statements of the backend's `queries.sql`; their
parameters are ids, datetimes and JSON text, which each backend binds its own way.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from conveyor import batches, encoding, errors, model

S = model.JobState
ENQUEUE_MAX_ERRORS = 20
"""Errors kept on a job an enqueue cancels (a new job whose dependency failed, which has no
errors yet, and the rest of its batch). Only here: every seam operation that settles, changes
or rescues jobs takes the app's `Settings.max_errors`; an enqueue knows no worker settings."""


SETTLED = frozenset({"id", "state", "has_dependants", "batch_id"})
"""Columns of a row that may have ended a job (`Final.of`, `finals_of`)."""
BATCH = frozenset({"id", "total", "completed", "discarded", "cancelled", "fired", "sealed",
                   "allow_failures", "cancelled_at", "finished_at", "callbacks"})

READS: Mapping[str, frozenset[str]] = {
    "grow_batch": frozenset(), "get_batch": frozenset(),  # only whether a row came back
    "mark_dependencies": SETTLED, "find_unique": frozenset({"id", "state"}),
    "add_edges": frozenset(), "job_states": frozenset({"id", "state"}),
    "resolve_edges": frozenset({"job_id", "depends_on", "run_on_failure"}),
    "cancel_dependants": SETTLED, "release_dependants": frozenset(), "lock_batches": BATCH,
    "cancel_batch_rest": SETTLED, "update_batch": frozenset(),
}
"""Every statement the plans here name, with the result columns they read: each dialect's
`queries.sql` must define it, bind only parameters the plan passes, return at least these
columns, and return rows at all (a driver may pipeline and always fetch). Checked by
`tests/contract/test_conformance.py`."""


@dataclasses.dataclass(frozen=True, slots=True)
class Final:
    """A job that just reached a final state (or was deleted, which counts as cancelled)."""

    id: int
    state: model.JobState
    has_dependants: bool
    batch_id: int | None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Final:
        return cls(int(row["id"]), S(row["state"]), bool(row["has_dependants"]),
                   row["batch_id"])


@dataclasses.dataclass(frozen=True, slots=True)
class Query:
    """Run the named statement; the driver sends back its rows (key access by column)."""

    name: str
    params: dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Insert:
    """Insert these jobs (batch callbacks) on the same connection."""

    jobs: list[model.NewJob]
    now: datetime


Step = Query | Insert
T = TypeVar("T")
Plan = Generator[Step, Sequence[Any], None]


def run(plan: Generator[Step, Sequence[Any], T], insert: Callable[[Insert], Any],
        execute: Callable[[Query], Sequence[Any]]) -> T:
    """Drive `plan` on a blocking connection: `insert` its inserts, `execute` its queries
    and feed their rows back; return what the plan returns. (The async driver is
    PostgreSQL's `adrive`.)"""
    try:
        step = next(plan)
        while True:
            if isinstance(step, Insert):
                insert(step)
                step = plan.send([])
            else:
                step = plan.send(execute(step))
    except StopIteration as done:
        result: T = done.value
        return result


def grow_batches(jobs: Sequence[model.NewJob]) -> Generator[Step, Sequence[Any], None]:
    """Count jobs into their batches before they land; a cancelled or finished batch (or
    one that does not exist) takes no more jobs."""
    sizes = Counter(job.batch_id for job in jobs if job.batch_id is not None)
    for batch_id, count in sizes.items():
        if (yield Query("grow_batch", {"id": batch_id, "count": count})):
            continue
        if not (yield Query("get_batch", {"id": batch_id})):
            raise errors.BatchNotFound(f"no batch with id {batch_id}")
        raise errors.BatchClosed(
            f"batch {batch_id} was cancelled or has finished; it takes no more jobs")


def insert_with_dependencies(jobs: Sequence[model.NewJob], now: datetime,
                             insert_one: Callable[[model.NewJob, int], Query],
                             ) -> Generator[Step, Sequence[Any], list[model.Inserted]]:
    """Insert row by row, since a job may wait for rows inserted just before it (chains).
    Dependencies are flagged first (which also finds missing ones); those that have ended
    already are resolved at once, in the same transaction."""
    done: list[model.Inserted] = []
    ended: dict[int, Final] = {}
    for job in jobs:
        deps = list(dict.fromkeys([*job.depends_on, *(done[k].id for k in job.depends_on_rows)]))
        if deps:
            marked = [Final.of(row) for row in (yield Query("mark_dependencies", {"ids": deps}))]
            missing = [d for d in deps if d not in {f.id for f in marked}]
            if missing:
                raise errors.DependencyNotFound(
                    f"job {job.name!r} depends on job(s) {missing} that do not exist; "
                    "nothing was enqueued")
            ended.update((f.id, f) for f in marked if f.state in model.FINAL_STATES)
        if deps:
            meta = {**encoding.loads(job.meta_json), "depends_on": deps}
            job = dataclasses.replace(job, meta_json=encoding.dumps(meta, what="job meta"))
        rows = yield insert_one(job, len(deps))
        if rows and rows[0]["id"] is not None:
            done.append(model.Inserted(int(rows[0]["id"]), job.initial_state(now)))
        else:  # a duplicate of a unique job: report the existing one
            done.append((yield from _existing(job, rows[0] if rows else None)))
            continue
        if deps:
            yield Query("add_edges", {"job_id": done[-1].id, "ids": deps,
                                      "run_on_failure": job.run_on_dependency_failure})
    if not ended:
        return done
    yield from after_final(ended.values(), now, ENQUEUE_MAX_ERRORS)
    states = {int(row["id"]): S(row["state"]) for row in (
        yield Query("job_states", {"ids": [item.id for item in done]}))}
    return [model.Inserted(item.id, states[item.id], item.duplicate) for item in done]


def _existing(job: model.NewJob, row: Mapping[str, Any] | None,
              ) -> Generator[Step, Sequence[Any], model.Inserted]:
    """The job holding a duplicate's unique key: as the insert read it back (a dialect whose
    insert can), else read now."""
    keys = row.keys() if row is not None else ()  # sqlite3.Row: `in` would look at values
    if row is not None and "existing_id" in keys and row["existing_id"] is not None:
        return model.Inserted(int(row["existing_id"]), S(row["existing_state"]), True)
    found = yield Query("find_unique", {"key": job.unique_key, "keys": [job.unique_key]})
    return model.Inserted(int(found[0]["id"]), S(found[0]["state"]), True)


def finals_of(rows: Iterable[Mapping[str, Any]]) -> list[Final]:
    """The rows a settling statement returned that are final and matter to others."""
    return [Final.of(row) for row in rows
            if (row["has_dependants"] or row["batch_id"] is not None)
            and S(row["state"]) in model.FINAL_STATES]


def after_final(finals: Iterable[Final], now: datetime, max_errors: int,
                touched_batches: Iterable[int] = ()) -> Plan:
    """Resolve dependants of `finals` (cascading through cancellations), then settle the
    batches they belong to (and `touched_batches`), until nothing more changes."""
    pending = list(finals)
    open_batches = set(touched_batches)
    while pending or open_batches:
        while pending:
            open_batches.update(f.batch_id for f in pending if f.batch_id is not None)
            pending = yield from _resolve_dependants(
                [f for f in pending if f.has_dependants], now, max_errors)
        if open_batches:
            pending = yield from _settle_batches(sorted(open_batches), now, max_errors)
            open_batches = set()


def _resolve_dependants(deps: list[Final], now: datetime, max_errors: int,
                        ) -> Generator[Step, Sequence[Any], list[Final]]:
    if not deps:
        return []
    state_of = {f.id: f.state for f in deps}
    edges = yield Query("resolve_edges", {"ids": list(state_of)})
    ready: Counter[int] = Counter()
    failed_dep: dict[int, int] = {}
    for edge in edges:
        job_id, dep = int(edge["job_id"]), int(edge["depends_on"])
        if state_of[dep] is S.COMPLETED or edge["run_on_failure"]:
            ready[job_id] += 1
        else:
            failed_dep.setdefault(job_id, dep)
    cancelled: list[Final] = []
    if failed_dep:
        errors = [_error(now, "DependencyFailed",
                         f"dependency {dep} ended {state_of[dep].value}; not run")
                  for dep in failed_dep.values()]
        rows = yield Query("cancel_dependants", {
            "ids": list(failed_dep), "errors": errors, "now": now, "max_errors": max_errors})
        cancelled = [Final.of(row) for row in rows]
    release = {job_id: n for job_id, n in ready.items() if job_id not in failed_dep}
    if release:
        yield Query("release_dependants", {"ids": list(release),
                                           "counts": list(release.values()), "now": now})
    return cancelled


def _settle_batches(ids: list[int], now: datetime, max_errors: int,
                    ) -> Generator[Step, Sequence[Any], list[Final]]:
    rows = yield Query("lock_batches", {"ids": ids})
    cancelled: list[Final] = []
    callbacks: list[model.NewJob] = []
    for row in rows:
        decision = batches.decide(batches.Counts.of(row))
        if decision.cancel_rest:
            got = yield Query("cancel_batch_rest", {
                "batch_id": row["id"], "now": now, "max_errors": max_errors,
                "error": _error(now, "BatchFailed",
                                "another job of its batch failed; not run")})
            cancelled += [Final.of(r) for r in got]
        if decision.fire:
            callbacks += batches.callback_jobs(row["callbacks"], decision.fire, row["id"], now)
        if decision.changes:
            yield Query("update_batch", {
                "id": row["id"], "fired": int(row["fired"]) | decision.fire,
                "finished_at": now if decision.finish else None,
                "cancelled_at": now if decision.cancel_rest else None})
    if callbacks:
        yield Insert(callbacks, now)
    return cancelled


def _error(now: datetime, kind: str, message: str) -> str:
    return encoding.dumps(model.JobError(attempt=0, at=now, type=kind, message=message)
                          .to_json(), what="error")
