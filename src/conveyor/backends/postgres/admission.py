"""Claiming on PostgreSQL: lock candidates, let `limits.admit` decide, start the admitted.

Runs in one transaction. Candidate rows are taken `FOR UPDATE SKIP LOCKED`, so concurrent
claims split the work; the rate keys involved are locked in key order (`FOR UPDATE`), so two
workers never admit into the same slot and never deadlock; concurrency keys are locked the same
way (advisory locks, after the rate keys) before their running jobs are counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import DictRow, dict_row

from conveyor import limits
from conveyor.backends import sqlfile

QUERIES = sqlfile.load("conveyor.backends.postgres")


async def claim_queue(conn: psycopg.AsyncConnection[Any], queue: str, limit: int,
                      worker: str, now: datetime,
                      names: Sequence[str] | None = None) -> list[DictRow]:
    """Start up to `limit` jobs of one queue (of `names` only, if given) that every limit
    allows; best first."""
    params = {"queue": queue, "limit": limit, "now": now,
              "names": None if names is None else list(names)}
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(QUERIES["candidates"], params)
        rows = await cur.fetchall()
        if not rows:
            return []
        if any(row["rate_keys"] or row["concurrency_key"] for row in rows):
            ids = await _admit(cur, [_candidate(row) for row in rows], limit, now)
        else:  # no limits involved: take the best unkeyed candidates
            rows.sort(key=lambda r: (r["priority"], r["run_at"], r["id"]))
            ids = [row["id"] for row in rows[:limit]]
        if not ids:
            return []
        await cur.execute(QUERIES["start"], {"ids": ids, "now": now, "worker": worker})
        started = await cur.fetchall()
    return sorted(started, key=lambda r: (r["priority"], r["run_at"], r["id"]))


async def _admit(cur: psycopg.AsyncCursor[DictRow], candidates: list[limits.Candidate],
                 limit: int, now: datetime) -> list[int]:
    rate_keys = sorted({key for c in candidates for key, _ in c.rate_keys})
    concurrency_keys = sorted({c.concurrency_key for c in candidates if c.concurrency_key})
    states: dict[str, limits.KeyState] = {}
    if rate_keys:
        await cur.execute(QUERIES["key_states"], {"keys": rate_keys})
        states = {row["key"]: limits.KeyState(row["tat"].timestamp(),
                                              row["blocked_until"].timestamp(), row["paused"])
                  for row in await cur.fetchall()}
    running: dict[str, int] = {}
    if concurrency_keys:
        await cur.execute(QUERIES["lock_concurrency_keys"], {"keys": concurrency_keys})
        await cur.execute(QUERIES["running_counts"], {"keys": concurrency_keys})
        running = {row["concurrency_key"]: row["count"] for row in await cur.fetchall()}
    admitted = limits.admit(candidates, states, running, limit, now.timestamp())
    changed = [key for key in states if key in rate_keys]
    if changed:
        await cur.execute(QUERIES["save_keys"], {
            "keys": changed, "tats": [_time(states[k].tat) for k in changed],
            "blocked": [_time(states[k].blocked_until) for k in changed]})
    return admitted


def _candidate(row: DictRow) -> limits.Candidate:
    return limits.Candidate(
        id=row["id"], order=(row["priority"], row["run_at"], row["id"]),
        rate_keys=tuple((str(key), float(interval)) for key, interval in row["rate_keys"] or ()),
        cost=row["cost"], concurrency_key=row["concurrency_key"],
        concurrency_limit=row["concurrency_limit"])


def _time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
