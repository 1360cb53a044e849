"""The raw floor on PostgreSQL: SKIP LOCKED claims, LISTEN/NOTIFY wake-up, COPY for bulk.

Its table and statements are class attributes: the floor on Conveyor's table
(`bench.floor.schema`) runs these same loops with its own."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from typing import Any

import orjson
import psycopg

SCHEMA = """
DROP TABLE IF EXISTS floor_jobs;
CREATE TABLE floor_jobs (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payload     jsonb       NOT NULL,
    state       text        NOT NULL DEFAULT 'available',
    attempt     integer     NOT NULL DEFAULT 0,
    started_at  timestamptz,
    finished_at timestamptz
);
CREATE INDEX floor_jobs_waiting ON floor_jobs (id) WHERE state = 'available';
"""
INSERT = ("WITH job AS (INSERT INTO floor_jobs (payload) VALUES (%s::jsonb) RETURNING id) "
          "SELECT id, pg_notify('floor_jobs', '') FROM job")
COPY = "COPY floor_jobs (payload) FROM STDIN"
# Complete what was just run and claim more, in one statement (one round trip, one commit).
SETTLE_AND_CLAIM = """
WITH done AS (
    UPDATE floor_jobs SET state = 'completed', finished_at = clock_timestamp()
     WHERE id = ANY(%(done)s)
)
UPDATE floor_jobs SET state = 'running', attempt = attempt + 1, started_at = clock_timestamp()
 WHERE id IN (SELECT id FROM floor_jobs WHERE state = 'available' ORDER BY id
              LIMIT %(claim)s FOR UPDATE SKIP LOCKED)
RETURNING id, payload
"""


async def noop(n: int) -> None:
    return None


class Floor:
    CHANNEL = "floor_jobs"
    INSERT = INSERT
    COPY = COPY
    SETTLE_AND_CLAIM = SETTLE_AND_CLAIM
    """Parameters: done (the ids just run), claim (how many), worker (who claims)."""

    @classmethod
    def setup(cls, url: str, without: Sequence[str] = ()) -> None:
        """An empty table, less the indexes named in `without`."""
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SCHEMA)
            for index in without:
                conn.execute(f"DROP INDEX {index}")

    @classmethod
    def teardown(cls, url: str) -> None:
        """Nothing: no other measurement reads the raw floor's table."""

    @staticmethod
    def values(i: int) -> tuple[Any, ...]:
        """The INSERT's (and COPY's) values for the i-th job."""
        return (orjson.dumps({"args": [i]}).decode(),)

    @staticmethod
    def arguments(payload: Any) -> list[Any]:
        """The job's arguments, from the (decoded jsonb) payload a claim returns."""
        args: list[Any] = payload["args"]
        return args

    @staticmethod
    def connect(url: str) -> psycopg.Connection[Any]:
        return psycopg.connect(url, autocommit=True)

    @classmethod
    def enqueue_one(cls, url: str, n: int) -> float:
        with cls.connect(url) as conn:
            return cls.enqueue_on(conn, n)

    @classmethod
    def enqueue_on(cls, conn: psycopg.Connection[Any], n: int) -> float:
        began = time.perf_counter()
        for i in range(n):
            conn.execute(cls.INSERT, cls.values(i), prepare=True)
        return n / (time.perf_counter() - began)

    @classmethod
    def enqueue_bulk(cls, url: str, n: int) -> float:
        with psycopg.connect(url) as conn:
            began = time.perf_counter()
            with conn.cursor().copy(cls.COPY) as copy:
                for i in range(n):
                    copy.write_row(cls.values(i))
            conn.execute("SELECT pg_notify(%s, '')", (cls.CHANNEL,))
            conn.commit()
            return n / (time.perf_counter() - began)

    @classmethod
    async def work(cls, url: str, claim: int, burst: bool) -> None:
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
        if not burst:
            await conn.execute(f"LISTEN {cls.CHANNEL}")
        worker = f"floor-{os.getpid()}"
        done: list[int] = []
        while True:
            cur = await conn.execute(cls.SETTLE_AND_CLAIM,
                                     {"done": done, "claim": claim, "worker": worker},
                                     prepare=True)
            rows = await cur.fetchall()
            done = [row[0] for row in rows]
            if not rows:
                if burst:
                    break
                async for _ in conn.notifies(timeout=1.0, stop_after=1):
                    pass
                continue
            await asyncio.gather(*(noop(*cls.arguments(row[1])) for row in rows))
        await conn.close()

    @classmethod
    def span(cls, url: str) -> tuple[float, float, int]:
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT extract(epoch FROM min(started_at)), extract(epoch FROM max(finished_at)),"
                " count(*) FROM floor_jobs WHERE state = 'completed'").fetchone()
        assert row is not None
        return float(row[0] or 0), float(row[1] or 0), int(row[2])
