"""The raw floor on SQLite: WAL, synchronous=NORMAL (as Conveyor), polling wake-up.

Its table and statements are class attributes: the floor on Conveyor's table
(`bench.floor.schema`) runs these same loops with its own."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

import orjson

from bench import databases

SCHEMA = """
DROP TABLE IF EXISTS floor_jobs;
CREATE TABLE floor_jobs (
    id          INTEGER PRIMARY KEY,
    payload     TEXT    NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'available',
    attempt     INTEGER NOT NULL DEFAULT 0,
    started_at  INTEGER,
    finished_at INTEGER
);
CREATE INDEX floor_jobs_waiting ON floor_jobs (id) WHERE state = 'available';
"""
INSERT = "INSERT INTO floor_jobs (payload) VALUES (?)"
COMPLETE = ("UPDATE floor_jobs SET state = 'completed', finished_at = :now "
            "WHERE id IN (SELECT value FROM json_each(:done))")
CLAIM = ("UPDATE floor_jobs SET state = 'running', attempt = attempt + 1, started_at = :now "
         "WHERE id IN (SELECT id FROM floor_jobs WHERE state = 'available' ORDER BY id "
         "LIMIT :claim) RETURNING id, payload")


async def noop(n: int) -> None:
    return None


def _micros() -> int:
    return int(time.time() * 1e6)


class Floor:
    INSERT = INSERT
    COMPLETE = COMPLETE
    CLAIM = CLAIM
    """Named parameters: now (microseconds), claim (how many), worker (who claims)."""

    @staticmethod
    def connect(url: str) -> sqlite3.Connection:
        conn = sqlite3.connect(databases.sqlite_path(url), isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    @classmethod
    def setup(cls, url: str, without: Sequence[str] = ()) -> None:
        """An empty table, less the indexes named in `without`."""
        with contextlib.closing(cls.connect(url)) as conn:
            conn.executescript(SCHEMA)
            for index in without:
                conn.execute(f"DROP INDEX {index}")

    @classmethod
    def teardown(cls, url: str) -> None:
        """Nothing: no other measurement reads the raw floor's table."""

    @staticmethod
    def values(i: int) -> tuple[Any, ...]:
        """The INSERT's parameters for the i-th job."""
        return (orjson.dumps({"args": [i]}).decode(),)

    @staticmethod
    def arguments(payload: Any) -> list[Any]:
        """The job's arguments, from the payload column a claim returns."""
        args: list[Any] = orjson.loads(payload)["args"]
        return args

    @classmethod
    def enqueue_one(cls, url: str, n: int) -> float:
        with contextlib.closing(cls.connect(url)) as conn:
            return cls.enqueue_on(conn, n)

    @classmethod
    def enqueue_on(cls, conn: sqlite3.Connection, n: int) -> float:
        began = time.perf_counter()
        for i in range(n):  # autocommit: each INSERT is its own transaction
            conn.execute(cls.INSERT, cls.values(i))
        return n / (time.perf_counter() - began)

    @classmethod
    def enqueue_bulk(cls, url: str, n: int) -> float:
        with contextlib.closing(cls.connect(url)) as conn:
            began = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(cls.INSERT, (cls.values(i) for i in range(n)))
            conn.execute("COMMIT")
            return n / (time.perf_counter() - began)

    @classmethod
    async def work(cls, url: str, claim: int, burst: bool) -> None:
        conn = cls.connect(url)
        worker = f"floor-{os.getpid()}"
        done: list[int] = []
        while True:
            conn.execute("BEGIN IMMEDIATE")
            if done:
                conn.execute(cls.COMPLETE, {"now": _micros(), "done": orjson.dumps(done).decode()})
            rows: list[Any] = conn.execute(
                cls.CLAIM, {"now": _micros(), "claim": claim, "worker": worker}).fetchall()
            conn.execute("COMMIT")
            done = [row[0] for row in rows]
            if not rows:
                if burst:
                    break
                await asyncio.sleep(0.005)
                continue
            await asyncio.gather(*(noop(*cls.arguments(row[1])) for row in rows))
        conn.close()

    @classmethod
    def span(cls, url: str) -> tuple[float, float, int]:
        with contextlib.closing(cls.connect(url)) as conn:
            lo, hi, count = conn.execute(
                "SELECT min(started_at), max(finished_at), count(*) FROM floor_jobs "
                "WHERE state = 'completed'").fetchone()
        return (lo or 0) / 1e6, (hi or 0) / 1e6, int(count)
