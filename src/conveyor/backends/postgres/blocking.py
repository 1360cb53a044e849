"""PostgreSQL's blocking calls: an enqueue or a read from plain code without an event loop.

A blocking caller waits for the server either way; waiting through an event loop (the
thread's private loop, an async pooled connection registering its socket with the loop for
each wait) cost about three times the client CPU of a blocking psycopg call. These methods
run the same insert plan (`sql.inserts.plan`, driven by the blocking runner `plans.drive`,
which transactional enqueue from sync code uses too) and the same statements on a blocking
autocommit connection of their own, configured as the pool's are and prepared by psycopg
after a few runs; errors are mapped and deadlocks retried as `PostgresBackend._run` does.
The connection belongs to the backend of one thread's private loop (`Conveyor._direct`), so
one thread uses it; `close` closes it with the pool.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import dict_row
from psycopg.types.json import set_json_loads

from conveyor import errors, model
from conveyor.backends import sqlfile
from conveyor.backends.postgres import inserts, plans
from conveyor.backends.postgres import rows as convert
from conveyor.backends.sql import inserts as shared_inserts

T = TypeVar("T")
_QUERIES = sqlfile.load("conveyor.backends.postgres")
SESSION = "SET TIME ZONE 'UTC'; SET jit = off; SET enable_seqscan = off"
"""Every connection's settings (see `backend.configure_connection`)."""
RETRIED = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure, shared_inserts.Race)
RETRIES = 5


class BlockingCalls:
    """`insert_blocking` and `get_blocking` of the PostgreSQL backend (a mixin of it)."""

    _conninfo: str
    _where: str
    _blocking_conn: psycopg.Connection[Any] | None = None

    if TYPE_CHECKING:
        def _notify(self) -> None: ...

        def _scrub(self, exc: BaseException) -> str: ...

        def _unavailable(self, exc: BaseException) -> errors.StorageUnavailable: ...

    def insert_blocking(self, jobs: Sequence[model.NewJob], now: datetime,
                        ) -> list[model.Inserted]:
        """`insert` of the seam, blocking: the shared plan, in one transaction only when it
        needs one (`sql.inserts.needs_transaction`; a plain job is one round trip)."""
        if not jobs:
            return []
        if len(jobs) == 1 and shared_inserts.row_alone(job := jobs[0]):  # most enqueues: no plan
            inserted = [self._run_blocking(lambda conn: inserts.write_plain(conn, job, now))]
            self._notify()
            return inserted
        atomic = shared_inserts.needs_transaction(jobs)

        def work(conn: psycopg.Connection[Any]) -> list[model.Inserted]:
            with conn.transaction() if atomic else contextlib.nullcontext():
                return plans.drive(conn, shared_inserts.plan(jobs, now))

        inserted = self._run_blocking(work)
        self._notify()
        return inserted

    def get_blocking(self, job_id: int) -> model.Job | None:
        """`get` of the seam, blocking (one statement)."""
        def work(conn: psycopg.Connection[Any]) -> model.Job | None:
            with conn.cursor(row_factory=dict_row) as cur:
                row = cur.execute(_QUERIES["get"], {"id": job_id}).fetchone()
            return None if row is None else convert.job_from_row(row)

        return self._run_blocking(work)

    def close_blocking(self) -> None:
        if self._blocking_conn is not None:
            conn, self._blocking_conn = self._blocking_conn, None
            conn.close()

    def _run_blocking(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """`work` on the blocking connection: deadlocks and races retried, a connection that
        broke while idle opened again once, errors as `PostgresBackend._run` reports them."""
        tries = 0
        reconnected = False
        while True:
            try:
                return work(self._blocking_conn or self._connect_blocking())
            except RETRIED as exc:
                tries += 1
                if tries >= RETRIES:
                    raise self._unavailable(exc) from None
                time.sleep(random.uniform(0.001, 0.01) * tries)
            except psycopg.DataError as exc:  # a value the server cannot take: not an outage
                raise errors.Unstorable(f"{self._where} refused a value: {self._scrub(exc)}") \
                    from None
            except psycopg.OperationalError as exc:
                broken = self._blocking_conn
                self.close_blocking()
                if reconnected or broken is None:  # it failed to connect, or failed again
                    raise self._unavailable(exc) from None
                reconnected = True

    def _connect_blocking(self) -> psycopg.Connection[Any]:
        conn = psycopg.Connection.connect(self._conninfo, autocommit=True)
        try:
            set_json_loads(convert.loads, conn)
            conn.execute(SESSION)
        except BaseException:
            conn.close()
            raise
        self._blocking_conn = conn
        return conn
