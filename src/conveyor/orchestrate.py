"""What follows when jobs end: dependants released or cancelled, batches settled.

Written once, without I/O, as a generator of steps that each backend drives inside the
transaction that ended the jobs (`conveyor.backends.sql.plans`), so a dependant is released,
and a batch callback enqueued, exactly when - and only if - the job that ended it is
committed. Steps name statements of the backend's `queries.sql`; their
parameters are ids, datetimes and JSON text, which each backend binds its own way.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Generator, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from conveyor import batches, encoding, model

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
    """Insert these jobs (batch callbacks) on the same connection, as any insert is
    (`conveyor.backends.sql.inserts.plan`)."""

    jobs: list[model.NewJob]
    now: datetime


Step = Query | Insert
Plan = Generator[Step, Sequence[Any], None]


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
