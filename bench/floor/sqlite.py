"""The raw floor on SQLite: WAL, synchronous=NORMAL (as Conveyor), polling wake-up."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
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
COMPLETE = ("UPDATE floor_jobs SET state = 'completed', finished_at = ? "
            "WHERE id IN (SELECT value FROM json_each(?))")
CLAIM = ("UPDATE floor_jobs SET state = 'running', attempt = attempt + 1, started_at = ? "
         "WHERE id IN (SELECT id FROM floor_jobs WHERE state = 'available' ORDER BY id LIMIT ?) "
         "RETURNING id, payload")


async def noop(n: int) -> None:
    return None


def _micros() -> int:
    return int(time.time() * 1e6)


class Floor:
    @staticmethod
    def connect(url: str) -> sqlite3.Connection:
        conn = sqlite3.connect(databases.sqlite_path(url), isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    @classmethod
    def setup(cls, url: str) -> None:
        with contextlib.closing(cls.connect(url)) as conn:
            conn.executescript(SCHEMA)

    @classmethod
    def enqueue_one(cls, url: str, n: int) -> float:
        with contextlib.closing(cls.connect(url)) as conn:
            began = time.perf_counter()
            for i in range(n):  # autocommit: each INSERT is its own transaction
                conn.execute(INSERT, (orjson.dumps({"args": [i]}).decode(),))
            return n / (time.perf_counter() - began)

    @classmethod
    def enqueue_bulk(cls, url: str, n: int) -> float:
        with contextlib.closing(cls.connect(url)) as conn:
            began = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(INSERT, ((orjson.dumps({"args": [i]}).decode(),)
                                      for i in range(n)))
            conn.execute("COMMIT")
            return n / (time.perf_counter() - began)

    @classmethod
    async def work(cls, url: str, claim: int, burst: bool) -> None:
        conn = cls.connect(url)
        done: list[int] = []
        while True:
            conn.execute("BEGIN IMMEDIATE")
            if done:
                conn.execute(COMPLETE, (_micros(), orjson.dumps(done).decode()))
            rows: list[Any] = conn.execute(CLAIM, (_micros(), claim)).fetchall()
            conn.execute("COMMIT")
            done = [row[0] for row in rows]
            if not rows:
                if burst:
                    break
                await asyncio.sleep(0.005)
                continue
            await asyncio.gather(*(noop(*orjson.loads(row[1])["args"]) for row in rows))
        conn.close()

    @classmethod
    def span(cls, url: str) -> tuple[float, float, int]:
        with contextlib.closing(cls.connect(url)) as conn:
            lo, hi, count = conn.execute(
                "SELECT min(started_at), max(finished_at), count(*) FROM floor_jobs "
                "WHERE state = 'completed'").fetchone()
        return (lo or 0) / 1e6, (hi or 0) / 1e6, int(count)
