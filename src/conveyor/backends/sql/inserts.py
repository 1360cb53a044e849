"""Inserting jobs, written once for every SQL engine (see `conveyor.backends.sql`).

What an insert decides is a plan (a generator of steps, as `conveyor.orchestrate` does for
what follows a job's end): rate keys registered, batches grown (and shrunk again by the
duplicates they will not hold), dependencies flagged and their edges added, duplicates of
unique jobs reported - or replaced where the options say so - and dependants of jobs that
have already ended resolved at once. The same plan runs in the backend's own transaction
and on a caller's connection (transactional enqueue, blocking or async: `plans.drive`,
`plans.adrive`), so those paths cannot drift apart.

The row write itself is the engine's `Write` operation: PostgreSQL sends columns as binary
arrays read with `unnest` (reading back, in the same statement, the job that holds a
duplicate's key); SQLite runs its statements (one `executemany` for plain jobs).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Generator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from conveyor import encoding, errors, jobrows, model, orchestrate
from conveyor.backends.sql.driver import Driver

if TYPE_CHECKING:
    pass

S = model.JobState
T = TypeVar("T")
Plan = Generator[Any, Any, T]

READS: Mapping[str, frozenset[str]] = {
    "register_rate_keys": frozenset(), "grow_batch": frozenset(), "get_batch": frozenset(),
    "find_unique": frozenset({"unique_key", "id", "state"}),
    "replace_unique": frozenset({"id", "state"}),
    "mark_dependencies": orchestrate.SETTLED, "add_edges": frozenset(),
    "job_states": frozenset({"id", "state"}), "has_migrations": frozenset({"present"}),
    "applied_migrations": frozenset({"version"}),
}
"""Every statement the plans here name, with the result columns they read (checked in each
dialect by `tests/contract/test_conformance.py`, as `orchestrate.READS`)."""


class Race(Exception):
    """A duplicate's key is held by no row any more: the row holding it left its covered
    state (or was deleted) between the write and the read. Retrying the insert resolves it."""


@dataclasses.dataclass(frozen=True, slots=True)
class Write:
    """The engine's bulk row write: insert `jobs` in these initial `states`, each waiting on
    `waiting_on` jobs; a duplicate of a unique job is skipped, not an error."""

    jobs: Sequence[model.NewJob]
    states: Sequence[model.JobState]
    now: datetime
    waiting_on: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class Written:
    """What a `Write` did, column-wise: the new ids in input order (None for a skipped
    duplicate), and - where the engine's statement read it back - the id and state of the
    job holding each skipped row's key, by input index."""

    ids: Sequence[int | None]
    holders: Mapping[int, tuple[int, str]] = dataclasses.field(default_factory=dict)
    existing: Mapping[int, model.Job] = dataclasses.field(default_factory=dict)
    """Holders read whole by the write, by input index (where the engine reads them cheaply)."""


def row_alone(job: model.NewJob) -> bool:
    """A job whose insert plan (`plan`) is its row's write alone: no unique key (nothing to
    report or replace), no rate keys to register, no batch to grow, nothing to wait on. Most
    enqueues; an engine may write such a job with one statement and no plan."""
    return not (job.unique_key or job.rate_keys_json or job.batch_id is not None
                or job.depends_on or job.depends_on_rows)


def needs_transaction(jobs: Sequence[model.NewJob]) -> bool:
    """Batches, dependencies and several unique jobs take several statements that must be
    atomic; plain jobs (and their rate keys, registered idempotently) need none, nor does
    one unique job: its write is one statement, and what may follow it (reading the holder
    of its key, replacing it) stands alone as it would in a read-committed transaction
    (a write skipped by ON CONFLICT DO NOTHING holds no lock for it)."""
    if isinstance(jobs, jobrows.JobRows):
        return jobs.any_set(*jobrows.TRANSACTIONAL)
    unique = len(jobs) > 1
    for job in jobs:  # a loop: this runs on every enqueue
        if (unique and job.unique_key) or job.batch_id is not None or job.depends_on \
                or job.depends_on_rows:
            return True
    return False


def plan(jobs: Sequence[model.NewJob], now: datetime) -> Plan[list[model.Inserted]]:
    """Insert `jobs`; one `Inserted` per job, in input order."""
    if not jobs:
        return []
    if keys := rate_keys_of(jobs):
        yield orchestrate.Query("register_rate_keys", {"keys": keys})
    columns = jobs if isinstance(jobs, jobrows.JobRows) else None  # a bulk's rows
    if columns is None:
        batched = [job.batch_id for job in jobs if job.batch_id is not None]
        sizes = Counter(batched) if batched else None
    else:
        sizes = _batch_sizes(columns)
    if sizes:
        yield from _grow_batches(sizes)
    ended: dict[int, orchestrate.Final] = {}
    if any(job.has_dependencies for job in jobs) if columns is None \
            else columns.any_set(*jobrows.DEPENDENCIES):
        done = yield from _with_dependencies(jobs, now, ended)
    else:
        states = [job.initial_state(now) for job in jobs] if columns is None \
            else initial_states(columns, now)
        written: Written = yield Write(jobs, states, now)
        if not isinstance(written.ids, range) and None in written.ids:
            done = yield from _reported(jobs, states, written, now)
        else:  # the common case, without a generator of its own
            done = [model.Inserted(job_id, state)  # type: ignore[arg-type]
                    for job_id, state in zip(written.ids, states, strict=True)]
    if sizes and (unheld := Counter(batch_id for batch_id, item in zip(
            jobrows.column(jobs, "batch_id"), done, strict=True)
            if item.duplicate and batch_id is not None)):
        for batch_id, count in unheld.items():  # a duplicate is not a job of the batch
            yield orchestrate.Query("grow_batch", {"id": batch_id, "count": -count})
    if not ended:
        return done
    # Dependencies that had ended already: their new dependants are resolved at once.
    yield from orchestrate.after_final(ended.values(), now, orchestrate.ENQUEUE_MAX_ERRORS)
    states_now = {int(row["id"]): S(row["state"]) for row in (
        yield orchestrate.Query("job_states", {"ids": [item.id for item in done]}))}
    return [model.Inserted(item.id, states_now[item.id], item.duplicate) for item in done]


def _batch_sizes(rows: jobrows.JobRows) -> Counter[int] | None:
    """How many of `rows` go into each batch (None: no batch)."""
    if "batch_id" in rows.shared:
        batch_id = rows.shared["batch_id"]
        return None if batch_id is None else Counter({batch_id: len(rows)})
    return Counter(batch_id for batch_id in rows.column("batch_id") if batch_id is not None)


def initial_states(rows: jobrows.JobRows, now: datetime) -> list[model.JobState]:
    """The state each of `rows` (none with dependencies) starts in."""
    if "run_at" in rows.shared:
        return [S.SCHEDULED if rows.shared["run_at"] > now else S.AVAILABLE] * len(rows)
    return [S.SCHEDULED if run_at > now else S.AVAILABLE for run_at in rows.column("run_at")]


def rate_keys_of(jobs: Sequence[model.NewJob]) -> list[str]:
    """Rate keys the jobs draw on: each gets its row in `conveyor_limits` before they land."""
    drawn = [job.rate_keys_json for job in jobs if job.rate_keys_json] \
        if not isinstance(jobs, jobrows.JobRows) \
        else [keys for keys in jobrows.values_of(jobs, "rate_keys_json") if keys]
    return sorted({str(pair[0]) for keys in drawn for pair in orjson.loads(keys)}) \
        if drawn else []


def _grow_batches(sizes: Mapping[int, int]) -> Plan[None]:
    """Count jobs into their batches before they land; a cancelled or finished batch (or
    one that does not exist) takes no more jobs."""
    for batch_id, count in sizes.items():
        if (yield orchestrate.Query("grow_batch", {"id": batch_id, "count": count})):
            continue
        if not (yield orchestrate.Query("get_batch", {"id": batch_id})):
            raise errors.BatchNotFound(f"no batch with id {batch_id}")
        raise errors.BatchClosed(
            f"batch {batch_id} was cancelled or has finished; it takes no more jobs")


def _reported(jobs: Sequence[model.NewJob], states: Sequence[model.JobState],
              written: Written, now: datetime) -> Plan[list[model.Inserted]]:
    """What a write did, as `Inserted`: a skipped duplicate reports the job holding its key
    (read now where the write did not), which takes the new arguments when the job says
    `replace`."""
    ids = written.ids
    skipped = [k for k, job_id in enumerate(ids) if job_id is None]
    holders = dict(written.holders)
    if unread := [k for k in skipped if k not in holders]:
        # a concurrent insert of the key committed after the write's statement began
        found = {row["unique_key"]: (int(row["id"]), str(row["state"])) for row in (
            yield orchestrate.Query("find_unique", {
                "keys": sorted({str(jobs[k].unique_key) for k in unread})}))}
        for k in unread:
            if jobs[k].unique_key not in found:
                raise Race(f"unique job {jobs[k].name!r} changed while inserting")
            holders[k] = found[str(jobs[k].unique_key)]
    replacing = {holders[k][0]: jobs[k] for k in skipped if jobs[k].replace}
    if replacing:
        news = list(replacing.values())
        rows = yield orchestrate.Query("replace_unique", {
            "ids": list(replacing), "args": [j.args_json for j in news],
            "kwargs": [j.kwargs_json for j in news], "priorities": [j.priority for j in news],
            "run_ats": [j.run_at for j in news], "now": now})
        state_of = {int(row["id"]): str(row["state"]) for row in rows}
        holders = {k: (i, state_of.get(i, s)) for k, (i, s) in holders.items()}
    return [model.Inserted(job_id, state) if job_id is not None
            else model.Inserted(holders[k][0], S(holders[k][1]), duplicate=True,
                                existing=None if jobs[k].replace else written.existing.get(k))
            for k, (job_id, state) in enumerate(zip(ids, states, strict=True))]


def _with_dependencies(jobs: Sequence[model.NewJob], now: datetime,
                       ended: dict[int, orchestrate.Final]) -> Plan[list[model.Inserted]]:
    """Insert row by row, since a job may wait for rows inserted just before it (chains).
    Dependencies are flagged first (which also finds missing ones); those that have ended
    already are put in `ended`."""
    done: list[model.Inserted] = []
    for job in jobs:
        deps = list(dict.fromkeys([*job.depends_on, *(done[k].id for k in job.depends_on_rows)]))
        if deps:
            marked = [orchestrate.Final.of(row) for row in (
                yield orchestrate.Query("mark_dependencies", {"ids": deps}))]
            if missing := [d for d in deps if d not in {f.id for f in marked}]:
                raise errors.DependencyNotFound(
                    f"job {job.name!r} depends on job(s) {missing} that do not exist; "
                    "nothing was enqueued")
            ended.update((f.id, f) for f in marked if f.state in model.FINAL_STATES)
            job = dataclasses.replace(
                job, meta_json=encoding.meta_with_dependencies(job.meta_json, deps))
        states = [job.initial_state(now)]
        written = yield Write([job], states, now, waiting_on=len(deps))
        done += yield from _reported([job], states, written, now)
        if deps and not done[-1].duplicate:
            yield orchestrate.Query("add_edges", {
                "job_id": done[-1].id, "ids": deps,
                "run_on_failure": job.run_on_dependency_failure})
    return done


def applied_migrations() -> Plan[list[int] | None]:
    """The migrations applied to the database (None: it has no migrations table), by reads
    alone, so a caller's transaction is left usable."""
    if not (yield orchestrate.Query("has_migrations", {}))[0]["present"]:
        return None
    return [int(row["version"]) for row in
            (yield orchestrate.Query("applied_migrations", {}))]


class Inserts(Driver):
    """`insert`, `insert_on` and `ainsert_on` of `base.Backend`, for any SQL driver."""

    migrations: str
    """The package holding the engine's migrations (what a caller's database must have)."""

    async def insert(self, jobs: Sequence[model.NewJob], now: datetime) -> list[model.Inserted]:
        if not jobs:
            return []
        inserted = await self.transaction(lambda tx: tx.follow(plan(jobs, now)),
                                          atomic=needs_transaction(jobs))
        self._notify()
        return inserted

    def insert_on(self, connection: Any, jobs: Sequence[model.NewJob], now: datetime, *,
                  check_schema: bool = True) -> list[model.Inserted]:
        caller = self.caller(connection)
        return caller.run(self._on_caller(caller.where, jobs, now, check_schema))

    async def ainsert_on(self, connection: Any, jobs: Sequence[model.NewJob], now: datetime,
                         *, check_schema: bool = True) -> list[model.Inserted]:
        caller = self.acaller(connection)
        return await caller.run(self._on_caller(caller.where, jobs, now, check_schema))

    def _on_caller(self, where: str, jobs: Sequence[model.NewJob], now: datetime,
                   check_schema: bool) -> Plan[list[model.Inserted]]:
        """With `check_schema`, a database without this version's tables is refused with
        `NotMigrated` before anything is written: the caller's transaction stays usable."""
        if check_schema:
            from conveyor.backends import transactional  # which opens backends

            transactional.require_schema(self.migrations, (yield from applied_migrations()),
                                         where)
        return (yield from plan(jobs, now))
