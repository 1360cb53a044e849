"""The state machine is true: every state-changing seam operation, run with jobs in every
state, moves jobs only as `model.TRANSITIONS` (the engine) and `model.OPERATOR_TRANSITIONS`
(operator actions) allow - and every move the tables allow is made by some operation."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import timedelta

from conveyor import changes, model, outcome
from conveyor.backends import base
from conveyor.model import JobState as S
from tests.conftest import _truncate, raw
from tests.contract.seam import NOW, error, new

LATER = NOW + timedelta(hours=1)
Move = tuple[S, S]
Operation = Callable[[base.Backend, "Jobs"], Awaitable[object]]


@dataclasses.dataclass
class Jobs:
    """One job of a batch in each state (the running one claimed by worker w1), and two
    jobs waiting for the running one (one due at once, one later)."""

    batch_id: int
    running: model.Job
    keys: list[str]


def _empty(url: str) -> None:
    if not url.startswith("sqlite"):
        _truncate(url)
        return
    tables = [row[0] for row in raw(url, "SELECT name FROM sqlite_master WHERE type = 'table' "
                                         "AND name LIKE 'conveyor%' "
                                         "AND name <> 'conveyor_migrations'")]
    for table in tables:
        raw(url, f"DELETE FROM {table}")  # table names read from the schema


async def _jobs(backend: base.Backend, url: str) -> Jobs:
    _empty(url)
    keys = [f"key-{state.value}" for state in S]
    rows = [dataclasses.replace(new(args=[n]), unique_key=key, unique_states=0xFF)
            for n, key in enumerate(keys)]
    batch_id, inserted = await backend.insert_batch(
        base.BatchSpec("every state", False, "[]"), rows, True, NOW, 20)
    running = (await backend.claim(["default"], 1, "w1", NOW))[0]
    others = [i.id for i in inserted if i.id != running.id]
    for job_id, state in zip(others, [s for s in S if s not in (S.RUNNING, S.AVAILABLE)],
                             strict=False):
        final = "?" if state in model.FINAL_STATES else "NULL"
        raw(url, f"UPDATE conveyor_jobs SET state = ?, finalized_at = {final} WHERE id = ?",
            (state.value, *((raw_time(url),) if final == "?" else ()), job_id))
    for run_at in (NOW, LATER):
        await backend.insert([dataclasses.replace(new(run_at=run_at),
                                                  depends_on=(running.id,))], NOW)
    return Jobs(batch_id, running, keys)


def raw_time(url: str) -> object:
    """NOW as each backend stores it."""
    if url.startswith("sqlite"):
        from conveyor.backends.sqlite.rows import to_micros

        return to_micros(NOW)
    return NOW


def _states(url: str) -> dict[int, S]:
    return {int(row[0]): S(row[1]) for row in raw(url, "SELECT id, state FROM conveyor_jobs")}


def _settle(make: Callable[[model.Job], outcome.Outcome]) -> Operation:
    async def run(backend: base.Backend, jobs: Jobs) -> object:
        return await backend.finish([make(jobs.running)], NOW, 20)
    return run


def _replace(run_at: object) -> Operation:
    async def run(backend: base.Backend, jobs: Jobs) -> object:
        return await backend.insert([dataclasses.replace(
            new(run_at=run_at), unique_key=key, unique_states=0xFF,  # type: ignore[arg-type]
            replace=True) for key in jobs.keys], NOW)
    return run


def _change(change: changes.Change) -> Operation:
    async def run(backend: base.Backend, jobs: Jobs) -> object:
        where = base.JobFilter(states=changes.eligible_states(change, ()))
        return await backend.change(where, change, NOW, "ops", 20)
    return run


ENGINE: dict[str, Operation] = {
    "stage": lambda backend, jobs: backend.stage(NOW, 100),
    "claim": lambda backend, jobs: backend.claim(["default"], 100, "w2", NOW),
    "complete": _settle(lambda job: outcome.Completed(job.id, job.attempt,
                                                      batch_id=job.batch_id)),
    "fail, retry later": _settle(lambda job: outcome.Failed(job.id, job.attempt, error(),
                                                            LATER, batch_id=job.batch_id)),
    "fail for good": _settle(lambda job: outcome.Failed(job.id, job.attempt, error(), None,
                                                        batch_id=job.batch_id)),
    "snooze": _settle(lambda job: outcome.Snoozed(job.id, job.attempt, LATER,
                                                  batch_id=job.batch_id)),
    "cancel from code": _settle(lambda job: outcome.Cancelled(job.id, job.attempt, error(),
                                                              batch_id=job.batch_id)),
    "interrupt": _settle(lambda job: outcome.Interrupted(job.id, job.attempt, error(),
                                                         batch_id=job.batch_id)),
    "rescue": lambda backend, jobs: backend.rescue(LATER, LATER, error(), 20),
    "repair": lambda backend, jobs: backend.repair(NOW, 20),
    "replace, later": _replace(LATER),
    "replace, due": _replace(NOW),
}
OPERATOR: dict[str, Operation] = {
    "retry": _change(changes.RetryJobs()),
    "cancel": _change(changes.CancelJobs()),
    "delete": _change(changes.DeleteJobs()),
    "edit priority": _change(changes.EditJobs(priority=5)),
    "edit, later": _change(changes.EditJobs(run_at=LATER)),
    "edit, due": _change(changes.EditJobs(run_at=NOW)),
    "edit and retry": _change(changes.EditJobs(priority=5, retry=True)),
    "edit and retry later": _change(changes.EditJobs(run_at=LATER, retry=True)),
}


def _allowed(table: model.Mapping[S, frozenset[S]]) -> set[Move]:
    return {(source, target) for source, targets in table.items() for target in targets}


async def _moves(backend: base.Backend, url: str, operations: dict[str, Operation],
                 ) -> dict[str, set[Move]]:
    seen = {}
    for name, operation in operations.items():
        jobs = await _jobs(backend, url)
        before = _states(url)
        assert set(before.values()) == set(S), name  # every state is there to move from
        await operation(backend, jobs)
        after = _states(url)
        seen[name] = {(before[i], after[i]) for i in before
                      if i in after and before[i] is not after[i]}
    return seen


async def test_the_engine_moves_jobs_only_as_transitions_allows(backend: base.Backend,
                                                                  url: str) -> None:
    seen = await _moves(backend, url, ENGINE)
    allowed = _allowed(model.TRANSITIONS)
    for name, moves in seen.items():
        assert moves <= allowed, f"{name} made moves the table forbids: {moves - allowed}"
    assert set().union(*seen.values()) == allowed  # and the table lists no move never made


async def test_operators_move_jobs_only_as_operator_transitions_allows(
        backend: base.Backend, url: str) -> None:
    seen = await _moves(backend, url, OPERATOR)
    allowed = _allowed(model.OPERATOR_TRANSITIONS)
    for name, moves in seen.items():
        assert moves <= allowed, f"{name} made moves the table forbids: {moves - allowed}"
    assert set().union(*seen.values()) == allowed
