"""The raw floor on PostgreSQL: SKIP LOCKED claims, LISTEN/NOTIFY wake-up, COPY for bulk."""

from __future__ import annotations

import asyncio
import time

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
    @staticmethod
    def setup(url: str) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SCHEMA)

    @staticmethod
    def enqueue_one(url: str, n: int) -> float:
        with psycopg.connect(url, autocommit=True) as conn:
            began = time.perf_counter()
            for i in range(n):
                conn.execute(INSERT, (orjson.dumps({"args": [i]}).decode(),), prepare=True)
            return n / (time.perf_counter() - began)

    @staticmethod
    def enqueue_bulk(url: str, n: int) -> float:
        with psycopg.connect(url) as conn:
            began = time.perf_counter()
            with conn.cursor().copy("COPY floor_jobs (payload) FROM STDIN") as copy:
                for i in range(n):
                    copy.write_row((orjson.dumps({"args": [i]}).decode(),))
            conn.execute("SELECT pg_notify('floor_jobs', '')")
            conn.commit()
            return n / (time.perf_counter() - began)

    @staticmethod
    async def work(url: str, claim: int, burst: bool) -> None:
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
        if not burst:
            await conn.execute("LISTEN floor_jobs")
        done: list[int] = []
        while True:
            cur = await conn.execute(SETTLE_AND_CLAIM, {"done": done, "claim": claim},
                                     prepare=True)
            rows = await cur.fetchall()
            done = [row[0] for row in rows]
            if not rows:
                if burst:
                    break
                async for _ in conn.notifies(timeout=1.0, stop_after=1):
                    pass
                continue
            await asyncio.gather(*(noop(*row[1]["args"]) for row in rows))
        await conn.close()

    @staticmethod
    def span(url: str) -> tuple[float, float, int]:
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT extract(epoch FROM min(started_at)), extract(epoch FROM max(finished_at)),"
                " count(*) FROM floor_jobs WHERE state = 'completed'").fetchone()
        assert row is not None
        return float(row[0] or 0), float(row[1] or 0), int(row[2])
