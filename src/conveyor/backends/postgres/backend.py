"""PostgreSQL backend: many workers on many machines sharing one jobs table.

A small `psycopg_pool` pool of autocommit connections, opened lazily on the running event loop.
A method that needs one statement runs it alone (PostgreSQL makes it atomic, one round trip);
several statements run inside one explicit transaction. Claims and chores pick rows with
`FOR UPDATE SKIP LOCKED`, so workers never block each other, and batches (insert, settle)
travel as binary typed arrays read with `unnest`: one statement for any number of rows.

Wake-ups: writes that make jobs available call `pg_notify('conveyor_jobs', queue)` in the same
statement (delivered on commit), and `wait` listens on a dedicated connection outside the pool.
That connection may drop (restart, failover, `pg_terminate_backend`): `wait` then never raises,
it sleeps out its timeout (the caller polls) and the next call listens again. In-process writes
also set an event, as in the SQLite backend.

Connection failures and pool timeouts become `StorageUnavailable`, naming the server but never
the password; a value the server refuses (a data error) becomes `Unstorable`. Deadlocks and
serialization failures are retried a few times first.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import orjson
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool

from conveyor import errors, limits, metrics, model, outcome
from conveyor.backends import base, migrate, sql, sqlfile
from conveyor.backends.postgres import blocking, inserts, plans
from conveyor.backends.postgres import rows as convert
from conveyor.backends.postgres.statements import column, dict_rows
from conveyor.backends.sql import binding
from conveyor.backends.sql import plans as shared_plans

T = TypeVar("T")
Conn = psycopg.AsyncConnection[tuple[Any, ...]]
_QUERIES = sqlfile.load("conveyor.backends.postgres")
_RETRIES = blocking.RETRIES
CLOSE_DEADLINE = 5.0
"""Seconds `close` waits for the listener to stop and the pool's connections to close."""
log = logging.getLogger("conveyor.storage")
_RETRIED = blocking.RETRIED


class PostgresBackend(sql.SqlBackend, blocking.BlockingCalls):
    """`base.Backend` on PostgreSQL; one instance serves one event loop. Enqueues and reads
    from plain code on that loop's thread need no event loop (`blocking.BlockingCalls`)."""

    migrations = "conveyor.backends.postgres"

    def __init__(self, url: str, *, pool_size: int = 4, timeout: float = 10.0) -> None:
        self.url = url
        self.pool_size = pool_size
        self.timeout = timeout
        self._conninfo, self._where, self._password = _parse(url)
        self._pool: AsyncConnectionPool | None = None
        self._opening = asyncio.Lock()
        self._wake = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        self._listen_broken = False

    # -- connections and transactions -----------------------------------------------------

    async def _open_pool(self) -> AsyncConnectionPool:
        async with self._opening:
            if self._pool is None:
                # One direct connection first: a dead server fails now with its real reason,
                # instead of a pool timeout after `timeout` seconds.
                probe = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
                await probe.close()
                pool = AsyncConnectionPool(
                    self._conninfo, min_size=1, max_size=self.pool_size, open=False,
                    timeout=self.timeout, kwargs={"autocommit": True},
                    configure=configure_connection,
                    name="conveyor")
                try:
                    await pool.open(wait=True, timeout=self.timeout)
                except BaseException:
                    await pool.close()
                    raise
                self._pool = pool
            return self._pool

    async def _run(self, work: Callable[[Conn], Awaitable[T]], *, atomic: bool = False,
                   pipelined: bool = False) -> T:
        """Run `work` on a pooled connection, inside one transaction when `atomic` (in
        pipeline mode when `pipelined`: statements are sent without waiting for BEGIN).

        A connection that broke while idle in the pool (server restarted, connections
        terminated) fails on first use: the pool then drops its broken connections and the
        work is tried once more on a fresh one before `StorageUnavailable` is raised."""
        tries = 0
        reconnected = False
        while True:
            try:
                pool = self._pool or await self._open_pool()
                async with pool.connection() as conn:
                    if not atomic:
                        return await work(conn)
                    if pipelined:
                        async with conn.pipeline(), conn.transaction():
                            return await work(conn)
                    async with conn.transaction():
                        return await work(conn)
            except _RETRIED as exc:
                tries += 1
                if tries >= _RETRIES:
                    raise self._unavailable(exc) from None
                await asyncio.sleep(random.uniform(0.001, 0.01) * tries)
            except psycopg.DataError as exc:  # a value the server cannot take: not an outage
                raise errors.Unstorable(f"{self._where} refused a value: {self._scrub(exc)}") \
                    from None
            except psycopg.OperationalError as exc:
                if reconnected or self._pool is None:
                    raise self._unavailable(exc) from None
                reconnected = True
                await self._pool.check()

    async def transaction(self, work: Callable[[sql.Statements], Awaitable[T]], *,
                          pipelined: bool = False, atomic: bool = True,
                          settling: bool = False) -> T:
        """The driver's write transaction (`sql.SqlBackend`); with `pipelined`, BEGIN
        travels with the first statement instead of costing a round trip of its own. Not
        `atomic`: no transaction, each statement commits on its own (a plain enqueue: one
        round trip instead of three). `settling` changes nothing here: the server does its
        own housekeeping."""
        return await self._run(lambda conn: work(_Statements(conn)), atomic=atomic,
                               pipelined=pipelined and atomic)

    def caller(self, connection: Any) -> inserts.Caller:
        return inserts.Caller(connection, self.url)

    def acaller(self, connection: Any) -> shared_plans.AsyncCaller:
        if isinstance(connection, psycopg.Connection):
            return shared_plans.Awaiting(self.caller(connection))
        return inserts.AsyncCaller(connection, self.url)


    async def statement(self, name: str, params: Mapping[str, Any] | None = None, *,
                        planned: bool = False, fragments: Sequence[str] = (),
                        ) -> Sequence[Mapping[str, Any]]:
        """One statement on a pooled autocommit connection: atomic on its own, one round
        trip, no explicit transaction (`sql.SqlBackend`)."""
        text = sqlfile.compose(_QUERIES, name, fragments) if fragments else _QUERIES[name]
        return await self._run(lambda conn: _rows(conn, text, params or {}, planned))

    async def claim_alone(self, queue: str, limit: int, worker: str, now: datetime,
                          names: Sequence[str] | None) -> list[model.Job] | None:
        """`claim_alone` of `queries.sql`: candidates and start in one autocommitted
        statement; None when a limit is involved (it then started nothing). Prepared on
        a connection's first claim, not its sixth (psycopg's `prepare_threshold`): each
        pooled connection then plans it 5 times (PostgreSQL's custom plans before it keeps
        the generic one) instead of 10; in a 20,000-job run that was half its runs."""
        params = {"queue": queue, "limit": limit, "now": now, "worker": worker,
                  "names": None if names is None else list(names)}

        async def run(conn: Conn) -> list[model.Job] | None:
            async with conn.cursor() as cur:  # JSON left undecoded until a job reads it
                cur.adapters.register_loader("jsonb", convert.UndecodedJson)
                await cur.execute(_QUERIES["claim_alone"], params, prepare=True)
                rows = await cur.fetchall()
                columns = convert.column_names(cur)
            keyed, ident = columns.index("keyed"), columns.index("id")
            if rows and rows[0][keyed]:
                return None
            return convert.jobs_of([row for row in rows if row[ident] is not None], columns)

        return await self._run(run)

    def moment(self, value: Any) -> datetime:
        moment: datetime = value  # psycopg reads timestamptz as datetime
        return moment

    def document(self, value: Any) -> Any:
        return value  # psycopg decodes json and jsonb

    def job(self, row: Mapping[str, Any]) -> model.Job:
        return convert.job_from_row(row)

    def jobs_of(self, fetched: sql.Fetched) -> list[model.Job]:
        return convert.jobs_of(*fetched)

    def metric_params(self, rows: Sequence[metrics.MetricRow]) -> dict[str, Any]:
        return convert.metric_params(rows)

    def settle_params(self, outcomes: Sequence[outcome.Outcome]) -> dict[str, dict[str, Any]]:
        return dict(convert.group(outcomes))

    def filter_params(self, where: base.JobFilter) -> dict[str, Any]:
        return convert.filter_params(where)

    async def settle_alone(self, by_statement: dict[str, dict[str, Any]], now: datetime,
                           max_errors: int) -> set[int]:
        """One autocommitted statement per kind of outcome (a transaction around them would
        cost two more round trips per flush), each guarded (`alone`) to jobs without
        dependants or batch: a job that gains a dependant meanwhile is left for the
        transaction, whose statements are not guarded. Prepared at once (see `claim_alone`)."""
        async def work(conn: Conn) -> set[int]:
            written: set[int] = set()
            for statement, params in by_statement.items():
                sql_text = sqlfile.compose(_QUERIES, statement, ["alone"])
                cur = await conn.execute(sql_text, {**params, "now": now,
                                                    "max_errors": max_errors}, prepare=True)
                written.update(int(row[0]) for row in await cur.fetchall())
            return written

        return await self._run(work)

    async def _column(self, name: str, params: Mapping[str, Any]) -> list[Any]:
        """The first column of every row one statement returns."""
        return await self._run(lambda conn: column(conn, name, params))

    def _unavailable(self, exc: BaseException) -> errors.StorageUnavailable:
        return errors.StorageUnavailable(f"{self._where} is unavailable: {self._scrub(exc)}")

    def _scrub(self, exc: BaseException) -> str:
        """The error on one line, without the password."""
        text = " ".join(str(exc).split())
        return text.replace(self._password, "***") if self._password else text

    def _notify(self) -> None:
        self._wake.set()

    # -- the seam -------------------------------------------------------------------------

    async def migrate(self) -> list[int]:
        steps = migrate.discover("conveyor.backends.postgres")

        async def apply_next(conn: Conn) -> int | None:
            """Apply the first pending migration, under the migrators' lock."""
            await conn.execute(_QUERIES["migration_lock"])
            await conn.execute(_QUERIES["migrations_table"])
            todo = migrate.pending(steps, set(await column(conn, "applied_migrations", {})))
            if not todo:
                return None
            await conn.execute(todo[0].sql)  # no parameters: many statements at once
            await conn.execute(_QUERIES["record_migration"],
                               {"version": todo[0].version, "name": todo[0].name})
            return todo[0].version

        done = []
        while (version := await self._run(apply_next, atomic=True)) is not None:
            done.append(version)
        return done

    async def check_schema(self) -> None:
        async def work(conn: Conn) -> list[int] | None:
            if not (await column(conn, "has_migrations", {}))[0]:
                return None
            return await column(conn, "applied_migrations", {})

        applied = await self._run(work)
        migrate.require(migrate.discover("conveyor.backends.postgres"), applied, self._where)

    async def close(self) -> None:
        self.close_blocking()
        if self._listener is not None:
            # Bounded: a listener cancelled while it connects can lose the cancellation.
            self._listener.cancel()
            await asyncio.wait([self._listener], timeout=CLOSE_DEADLINE)
            self._listener = None
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close(timeout=CLOSE_DEADLINE)


    async def heartbeat(self, worker: str, queues: Sequence[str], now: datetime,
                        about: base.WorkerSpec | None = None, *,
                        database_clock: bool = False) -> list[int]:
        """With `database_clock`, stamped `statement_timestamp()` (the server's clock)."""
        params = {"worker": worker, "queues": orjson.dumps(list(queues)).decode(),
                  "now": None if database_clock else now, **binding.about_params(about)}
        return await self._column("heartbeat", params)

    async def wait(self, queues: Sequence[str], timeout: float) -> bool:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen(), name="conveyor-listen")
        if not self._wake.is_set():
            try:
                await asyncio.wait_for(self._wake.wait(), max(0.0, timeout))
            except TimeoutError:
                return False
        self._wake.clear()
        return True

    async def _listen(self) -> None:
        """Set the wake event on every notification until the connection breaks."""
        conn: psycopg.AsyncConnection[Any] | None = None
        try:
            conn = await psycopg.AsyncConnection.connect(
                # The process id lets an operator tie a LISTEN connection to its worker.
                self._conninfo, autocommit=True,
                application_name=f"conveyor-listen:{os.getpid()}")
            await conn.execute("LISTEN conveyor_jobs")
            if self._listen_broken:
                log.info("%s: listening for new jobs again", self._where)
            self._listen_broken = False
            async for _ in conn.notifies():
                self._wake.set()
        except Exception as exc:  # never raise out of wait(): poll until the next call
            if not self._listen_broken:
                log.warning("%s: cannot listen for new jobs (%s); polling until it can",
                            self._where, self._scrub(exc))
            self._listen_broken = True
        finally:
            if conn is not None:
                await conn.close()



# -- statements and conversions -----------------------------------------------------------


class _Statements:
    """`sql.Statements` on a psycopg connection (rows as dicts)."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def rows(self, name: str, params: Mapping[str, Any], *,
                   planned: bool = False) -> Sequence[Mapping[str, Any]]:
        return await _rows(self.conn, _QUERIES[name], params, planned)

    async def job_rows(self, name: str, params: Mapping[str, Any]) -> sql.Fetched:
        async with self.conn.cursor() as cur:  # JSON left undecoded until a job reads it
            cur.adapters.register_loader("jsonb", convert.UndecodedJson)
            await cur.execute(_QUERIES[name], params)
            return await cur.fetchall(), convert.column_names(cur)

    async def candidates(self, queue: str, limit: int, now: datetime,
                         names: Sequence[str] | None) -> Sequence[Mapping[str, Any]]:
        """One statement: the paused check, the unkeyed jobs and each ready key's head, all
        taken `FOR UPDATE SKIP LOCKED`, so concurrent claims split the work."""
        params = {"queue": queue, "limit": limit, "now": now,
                  "names": None if names is None else list(names)}
        return await dict_rows(self.conn, "candidates", params)

    def candidate(self, row: Mapping[str, Any]) -> limits.Candidate:
        return convert.candidate(row)

    async def follow(self, plan: shared_plans.Steps[T]) -> T:
        return await plans.adrive(self.conn, plan)

    async def wake_all(self) -> None:
        await self.conn.execute(_QUERIES["wake"])


async def _rows(conn: Conn, text: str, params: Mapping[str, Any],
                planned: bool) -> list[DictRow]:
    """The rows of one statement (none for a statement that returns none); with `planned`,
    unprepared, so PostgreSQL plans it for these parameters."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(text, params, prepare=False if planned else None)
        try:
            return await cur.fetchall()
        except psycopg.ProgrammingError as exc:
            if exc.sqlstate is not None:  # an error of the statement, not "no rows"
                raise
            return []


def _parse(url: str) -> tuple[str, str, str | None]:
    """Conninfo for libpq, a password-free name of the server for messages, the password."""
    try:
        parts = urlsplit(url)
        safe = f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"
        params = conninfo_to_dict("postgresql:" + url.split(":", 1)[1])
    except (ValueError, psycopg.ProgrammingError) as exc:
        text = str(exc).replace(urlsplit(url).password or "\0", "***")
        raise errors.InvalidUrl(f"PostgreSQL URL is invalid: {text}") from None
    params.setdefault("connect_timeout", 10)
    params.setdefault("application_name", "conveyor")
    password = params.get("password")
    return make_conninfo("", **params), f"PostgreSQL at {safe}", \
        str(password) if password else None


async def configure_connection(conn: psycopg.AsyncConnection[Any]) -> None:
    """Every pooled connection: JSON through orjson, timestamps in UTC, no JIT (bulk
    statements over arrays get huge row estimates, and compiling costs more than it saves),
    and no sequential scan where an index can answer: on a table not yet analyzed (every
    new database) the planner settled outcomes by scanning the whole jobs table, 5x slower
    (`tests/contract/test_query_plans.py`). Every statement here is meant to use an index."""
    set_json_loads(convert.loads, conn)
    await conn.execute(blocking.SESSION)


