"""SQLite's blocking calls: an enqueue or a read from plain code without an event loop.

sqlite3 blocks whatever calls it, so a blocking caller gains nothing from crossing an event
loop: driving the private loop cost about a seventh of a single enqueue. These methods run
the same statements and the same insert plan (`sql.inserts.plan`, driven by the blocking
runner `sql.plans.drive`) as the async seam, in the same `BEGIN IMMEDIATE` transaction, and
retry a busy database the same way with blocking sleeps (no event loop is there to yield
to). A plain job alone (`plain`) is one autocommitted INSERT: atomic by itself, without the
two statements of a transaction or the plan's steps around it. The async methods stay what
the worker and async callers use.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar, cast

from conveyor import errors, model
from conveyor.backends import sqlfile
from conveyor.backends.sql import inserts as shared_inserts
from conveyor.backends.sqlite import plans, statements
from conveyor.backends.sqlite import rows as convert

T = TypeVar("T")
_QUERIES = sqlfile.load("conveyor.backends.sqlite")


INSERT = _QUERIES["insert_plain_job"]


def plain(job: model.NewJob) -> bool:
    """A job whose insert is its row alone (`sql.inserts.row_alone`) and whose limit columns
    are empty (`insert_plain_job` leaves them out): one statement, atomic in autocommit mode
    (no `BEGIN IMMEDIATE` and `COMMIT` around it, no plan)."""
    return shared_inserts.row_alone(job) and job.rate_key is None \
        and job.concurrency_key is None and job.concurrency_limit is None


class BlockingCalls:
    """`insert_blocking` and `get_blocking` of the SQLite backend (a mixin of it)."""

    busy_deadline: float

    if TYPE_CHECKING:
        def _connection(self) -> sqlite3.Connection: ...

        def _notify(self) -> None: ...

        def failure(self, exc: sqlite3.DataError | sqlite3.OperationalError,
                    deadline: float) -> errors.ConveyorError | None: ...

    def insert_blocking(self, jobs: Sequence[model.NewJob], now: datetime,
                        ) -> list[model.Inserted]:
        """`insert` of the seam, blocking: the shared plan in one write transaction."""
        if not jobs:
            return []
        if len(jobs) == 1 and plain(job := jobs[0]):
            state = job.initial_state(now)
            row = (job.name, job.queue, state.value, job.priority, job.args_json,
                   job.kwargs_json, job.meta_json, job.max_attempts, convert.to_micros(job.run_at),
                   convert.to_micros(now), job.cost)
            job_id = self._retrying_blocking(
                lambda conn: cast(int, conn.execute(INSERT, row).lastrowid))
            self._notify()
            return [model.Inserted(job_id, state)]

        def once(conn: sqlite3.Connection) -> list[model.Inserted]:
            with statements.transaction_of(conn):
                return plans.drive(conn, shared_inserts.plan(jobs, now))

        inserted = self._retrying_blocking(once)
        self._notify()
        return inserted

    def get_blocking(self, job_id: int) -> model.Job | None:
        """`get` of the seam, blocking (one statement in autocommit mode)."""
        def once(conn: sqlite3.Connection) -> model.Job | None:
            row = conn.execute(_QUERIES["get"], {"id": job_id}).fetchone()
            return None if row is None else convert.job_from_row(row)

        return self._retrying_blocking(once)

    def _retrying_blocking(self, once: Callable[[sqlite3.Connection], T]) -> T:
        """`once` on the connection, again after a short blocking sleep while the database
        is busy, until `busy_deadline` (as the async `_retrying`)."""
        conn = self._connection()
        deadline = time.monotonic() + self.busy_deadline
        pause = 0.0002
        while True:
            try:
                return once(conn)
            except (sqlite3.DataError, sqlite3.OperationalError) as exc:
                if (failure := self.failure(exc, deadline)) is not None:
                    raise failure from None
            time.sleep(pause * random.uniform(0.5, 1.5))
            pause = min(pause * 2, 0.02)
