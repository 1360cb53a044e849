"""Claiming on SQLite: pick candidates, let `limits.admit` decide, start the admitted.

Runs inside the backend's `BEGIN IMMEDIATE`, so reading key states, deciding in Python and
writing them back is atomic with respect to every other worker.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import orjson

from conveyor import limits
from conveyor.backends import sqlfile

QUERIES = sqlfile.load("conveyor.backends.sqlite")


def claim_queue(conn: sqlite3.Connection, queue: str, limit: int, worker: str,
                now_us: int, names: Sequence[str] | None = None) -> list[sqlite3.Row]:
    """Start up to `limit` jobs of one queue (of `names` only, if given) that every limit
    allows; best first."""
    if conn.execute(QUERIES["queue_paused"], {"queue": queue}).fetchone():
        return []
    only = None if names is None else _json(list(names))
    params = {"queue": queue, "limit": limit, "now": now_us, "names": only}
    rows = conn.execute(QUERIES["candidates"], params).fetchall()
    for (key,) in conn.execute(QUERIES["ready_keys"], params).fetchall():
        rows += conn.execute(QUERIES["key_head"],
                             {"queue": queue, "key": key, "names": only}).fetchall()
    if not rows:
        return []
    if any(row["rate_keys"] or row["concurrency_key"] for row in rows):
        ids = _admit(conn, [_candidate(row) for row in rows], limit, now_us)
    else:  # no limits involved: the candidates are already in order
        ids = [row["id"] for row in rows[:limit]]
    if not ids:
        return []
    started = conn.execute(QUERIES["start"], {"ids": orjson.dumps(ids).decode(),
                                              "now": now_us, "worker": worker}).fetchall()
    return sorted(started, key=lambda r: (r["priority"], r["run_at"], r["id"]))


def _admit(conn: sqlite3.Connection, candidates: list[limits.Candidate], limit: int,
           now_us: int) -> list[int]:
    rate_keys = sorted({key for c in candidates for key, _ in c.rate_keys})
    concurrency_keys = sorted({c.concurrency_key for c in candidates if c.concurrency_key})
    states = {row["key"]: limits.KeyState(row["tat"] / 1e6, row["blocked_until"] / 1e6,
                                          bool(row["paused"]))
              for row in conn.execute(QUERIES["key_states"], {"keys": _json(rate_keys)})}
    running = dict(conn.execute(QUERIES["running_counts"],
                                {"keys": _json(concurrency_keys)}).fetchall())
    admitted = limits.admit(candidates, states, running, limit, now_us / 1e6)
    conn.executemany(QUERIES["save_key"], [
        {"key": key, "tat": round(state.tat * 1e6), "blocked_until": round(
            state.blocked_until * 1e6)} for key, state in states.items() if key in rate_keys])
    return admitted


def _candidate(row: sqlite3.Row) -> limits.Candidate:
    pairs = orjson.loads(row["rate_keys"]) if row["rate_keys"] else []
    return limits.Candidate(
        id=row["id"], order=(row["priority"], row["run_at"], row["id"]),
        rate_keys=tuple((str(key), float(interval)) for key, interval in pairs),
        cost=row["cost"], concurrency_key=row["concurrency_key"],
        concurrency_limit=row["concurrency_limit"])


def _json(values: list[str]) -> str:
    return orjson.dumps(values).decode()
