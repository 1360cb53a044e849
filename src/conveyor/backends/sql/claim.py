"""Claiming jobs with admission, written once for every SQL engine (see `conveyor.backends.sql`).

The common case takes no transaction: per queue, the driver's `claim_alone` starts the best
jobs in one statement when none of them carries a limit (PostgreSQL: one round trip instead
of four); a queue where a limit is involved, and the queues after it, take admission. That is
one write transaction per claim. Per queue, in the order served: the driver's `candidates`
(nothing while the queue is paused; on PostgreSQL locked `SKIP LOCKED`, so concurrent claims
split the work), then `limits.admit` decides which of them every rate and concurrency limit
allows, with the key states read (on PostgreSQL locked in key order, so two claims never admit
into the same slot and never deadlock) and concurrency keys locked before their running jobs
are counted (PostgreSQL's advisory locks; SQLite's `BEGIN IMMEDIATE` already makes claims take
turns), and the states saved back; then `start`. Jobs without limits skip admission: the
candidates are already the best.

Key times travel as epoch seconds (what `limits` computes in); each engine's statements convert.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TypeVar

from conveyor import limits, model
from conveyor.backends.sql.driver import Driver, Fetched, Statements

T = TypeVar("T")
NOTHING: Fetched = ((), ())
JOB_ROW = frozenset({"id", "name", "queue", "state", "priority", "args", "kwargs", "meta",
                     "attempt", "max_attempts", "run_at", "inserted_at", "attempted_at",
                     "finalized_at", "attempted_by", "errors", "result", "rate_keys",
                     "batch_id"})
"""Columns of a whole job row (what each engine's `job_from_row` reads)."""
READS: Mapping[str, frozenset[str] | None] = {
    "key_states": frozenset({"key", "tat", "blocked_until", "paused"}),
    "lock_concurrency_keys": None, "running_counts": frozenset({"concurrency_key", "running"}),
    "save_keys": None, "start": JOB_ROW,
}
"""Every statement named here, with the result columns read (None: its rows are not read).
Each dialect's `queries.sql` must define it, bind only parameters passed here and return at
least these columns; checked by `tests/contract/test_conformance.py`."""


class Claiming(Driver):
    """`claim` of `base.Backend`, for any SQL driver."""

    async def claim(self, queues: Sequence[str], limit: int, worker: str, now: datetime,
                    names: Sequence[str] | None = None) -> list[model.Job]:
        jobs: list[model.Job] = []
        rest = list(queues)
        while rest and len(jobs) < limit:  # the common case, no limit involved: no transaction
            alone = await self.claim_alone(rest[0], limit - len(jobs), worker, now, names)
            if alone is None:  # limits involved here: this queue and the rest take admission
                break
            jobs += sorted(alone, key=_best_first)
            rest.pop(0)
        if not rest or len(jobs) >= limit:
            return jobs

        async def work(tx: Statements) -> list[Fetched]:
            started: list[Fetched] = []
            taken = len(jobs)
            for queue in rest:
                if taken >= limit:
                    break
                fetched = await claim_queue(tx, queue, limit - taken, worker, now, names)
                started.append(fetched)
                taken += len(fetched[0])
            return started

        for fetched in await self.transaction(work):  # built after the transaction is over
            jobs += sorted(self.jobs_of(fetched), key=_best_first)
        return jobs


async def claim_queue(tx: Statements, queue: str, limit: int, worker: str, now: datetime,
                      names: Sequence[str] | None) -> Fetched:
    """Start up to `limit` jobs of one queue (of `names` only, if given) that every limit
    allows; their rows, fetched."""
    rows = await tx.candidates(queue, limit, now, names)
    if not rows:
        return NOTHING
    if any(row["rate_keys"] or row["concurrency_key"] for row in rows):
        ids = await admit(tx, [tx.candidate(row) for row in rows], limit, now)
    else:  # no limits involved: only unkeyed jobs, already best first
        ids = [row["id"] for row in rows[:limit]]
    if not ids:
        return NOTHING
    return await tx.job_rows("start", {"ids": ids, "now": now, "worker": worker})


_best_first: Callable[[model.Job], tuple[int, datetime, int]] = operator.attrgetter(
    "priority", "run_at", "id")
"""A claimed job's place, best first (in C: no Python call per job claimed)."""


async def admit(tx: Statements, candidates: Sequence[limits.Candidate], limit: int,
                now: datetime) -> list[int]:
    """The ids `limits.admit` picks among `candidates`; the rate keys' new states saved."""
    rate_keys = sorted({key for c in candidates for key, _ in c.rate_keys})
    concurrency_keys = sorted({c.concurrency_key for c in candidates if c.concurrency_key})
    states: dict[str, limits.KeyState] = {}
    if rate_keys:
        states = {row["key"]: limits.KeyState(float(row["tat"]), float(row["blocked_until"]),
                                              bool(row["paused"]))
                  for row in await tx.rows("key_states", {"keys": rate_keys})}
    running: dict[str, int] = {}
    if concurrency_keys:
        await tx.rows("lock_concurrency_keys", {"keys": concurrency_keys})
        running = {row["concurrency_key"]: int(row["running"])
                   for row in await tx.rows("running_counts", {"keys": concurrency_keys})}
    admitted = limits.admit(candidates, states, running, limit, now.timestamp())
    if states:  # every key read or first met here: all of them in `rate_keys`
        await tx.rows("save_keys", {"keys": list(states),
                                    "tats": [state.tat for state in states.values()],
                                    "blocked": [s.blocked_until for s in states.values()]})
    return admitted
