"""Dashboard paging on a million jobs: how long `admin.apage` takes for the common filters,
and how long the dashboard takes to answer with the whole rendered page (server time: the
ASGI app called in-process, no network).

    python -m bench.dashboard --url sqlite:///dash.db [--jobs 1000000]
    python -m bench.dashboard --url postgresql://postgres@127.0.0.1/dash

Empties the database, fills it with `--jobs` jobs in one statement (mixed states, queues, job
names and argument text, inserted over a week), then times each page several times and prints
the median. A deep page starts from a cursor a tenth of the way from the oldest job: keyset
paging makes it cost what the first page costs. SQLite is left without planner statistics
(Conveyor never runs ANALYZE); PostgreSQL is vacuumed and analyzed, as autovacuum would.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from bench import databases
from conveyor import Conveyor, JobFilter, JobState

SPAN = timedelta(days=7)
_MIX = """
    CASE WHEN s < 700 THEN 'completed' WHEN s < 750 THEN 'discarded'
         WHEN s < 770 THEN 'cancelled' WHEN s < 870 THEN 'available'
         WHEN s < 920 THEN 'scheduled' WHEN s < 950 THEN 'retryable'
         WHEN s < 960 THEN 'running' ELSE 'pending' END AS state,
    CASE WHEN n % 100000 = 9 THEN 'tiny' WHEN q < 500 THEN 'default' WHEN q < 750 THEN 'mail'
         WHEN q < 999 THEN 'sync' ELSE 'rare' END AS queue,
    CASE WHEN n % 100000 = 7 THEN 'shop.very_rare' WHEN m < 400 THEN 'shop.send_email'
         WHEN m < 700 THEN 'shop.sync_product' WHEN m < 900 THEN 'shop.resize_image'
         WHEN m < 999 THEN 'shop.cleanup' ELSE 'shop.rare_report' END AS name"""
_FILL_SQLITE = f"""
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :count),
h AS (SELECT n, ((n * 7919) % 100003) % 1000 AS s, ((n * 104729) % 99991) % 1000 AS q,
             ((n * 1299709) % 99989) % 1000 AS m, :start + n * :step AS t FROM g),
r AS (SELECT n, t, {_MIX} FROM h)
INSERT INTO conveyor_jobs (name, queue, state, args, kwargs, attempt, run_at, inserted_at,
                           attempted_at, finalized_at, attempted_by)
SELECT name, queue, state, '[' || n || ',"customer-' || (n % 100000) || '@example.com"]',
       '{{"shop_id":' || (n % 50) || '}}',
       CASE WHEN state IN ('pending', 'scheduled', 'available') THEN 0 ELSE 1 END, t, t,
       CASE WHEN state IN ('pending', 'scheduled', 'available') THEN NULL ELSE t + 1000 END,
       CASE WHEN state IN ('completed', 'discarded', 'cancelled') THEN t + 2000 END,
       CASE WHEN state IN ('pending', 'scheduled', 'available') THEN NULL ELSE 'bench' END
  FROM r ORDER BY n"""
_FILL_PG = f"""
INSERT INTO conveyor_jobs (name, queue, state, args, kwargs, attempt, run_at, inserted_at,
                           attempted_at, finalized_at, attempted_by)
SELECT name, queue, state, jsonb_build_array(n, 'customer-' || (n %% 100000) || '@example.com'),
       jsonb_build_object('shop_id', n %% 50),
       CASE WHEN state IN ('pending', 'scheduled', 'available') THEN 0 ELSE 1 END, t, t,
       CASE WHEN state IN ('pending', 'scheduled', 'available') THEN NULL
            ELSE t + interval '1 ms' END,
       CASE WHEN state IN ('completed', 'discarded', 'cancelled') THEN t + interval '2 ms' END,
       CASE WHEN state IN ('pending', 'scheduled', 'available') THEN NULL ELSE 'bench' END
  FROM (SELECT n, t, {_MIX.replace('%', '%%')}
          FROM (SELECT n, ((n * 7919) %% 100003) %% 1000 AS s,
                       ((n * 104729) %% 99991) %% 1000 AS q,
                       ((n * 1299709) %% 99989) %% 1000 AS m,
                       %(start)s::timestamptz + n * %(step)s * interval '1 microsecond' AS t
                  FROM generate_series(1, %(count)s::bigint) AS n) AS h) AS r
 ORDER BY n"""


def fill(url: str, count: int, now: datetime) -> None:
    """`count` jobs inserted evenly over the week before `now`, ids in insertion order."""
    step = int(SPAN.total_seconds() * 1e6 / count)
    start = now - SPAN
    if databases.is_sqlite(url):
        epoch_us = int(start.timestamp() * 1e6)
        with contextlib.closing(sqlite3.connect(databases.sqlite_path(url))) as conn, conn:
            conn.execute(_FILL_SQLITE, {"count": count, "start": epoch_us, "step": step})
        with contextlib.closing(sqlite3.connect(databases.sqlite_path(url))) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute(_FILL_PG, {"count": count, "start": start, "step": step})
        pg.execute("VACUUM ANALYZE conveyor_jobs")


def cases(deep: int, now: datetime) -> dict[str, tuple[JobFilter, str | None]]:
    """Figure name -> (filter, cursor) of each timed page."""
    S = JobState
    hour_ago, day_ago = now - timedelta(hours=1), now - timedelta(days=5)
    return {
        "first page": (JobFilter(), None),
        "deep page (cursor)": (JobFilter(), f"n{deep}"),
        "state discarded": (JobFilter(states=[S.DISCARDED]), None),
        "state discarded, deep": (JobFilter(states=[S.DISCARDED]), f"n{deep}"),
        "state running + queue mail": (JobFilter(states=[S.RUNNING], queues=["mail"]), None),
        "state + queue, deep": (JobFilter(states=[S.RUNNING], queues=["mail"]), f"n{deep}"),
        "2 states + queue sync": (JobFilter(states=[S.RUNNING, S.RETRYABLE],
                                            queues=["sync"]), None),
        "queue rare (0.1%)": (JobFilter(queues=["rare"]), None),
        "queue tiny (10 jobs)": (JobFilter(queues=["tiny"]), None),
        "name rare (0.1%)": (JobFilter(names=["shop.rare_report"]), None),
        "name very rare (10 jobs)": (JobFilter(names=["shop.very_rare"]), None),
        "inserted in the last hour": (JobFilter(inserted_after=hour_ago), None),
        "inserted 5 days ago, 1 h": (JobFilter(inserted_after=day_ago,
                                               inserted_before=day_ago + timedelta(hours=1)),
                                     None),
        "text, frequent": (JobFilter(text="@example.com"), None),
        "text, rare (one scan budget)": (JobFilter(text="customer-4242@"), None),
        "text, none (one scan budget)": (JobFilter(text="nobody@nowhere"), None),
    }


async def _median_ms(action: Callable[[], Awaitable[Any]], runs: int) -> tuple[float, Any]:
    """Median milliseconds of `runs` calls (after one to warm the cache), and its result."""
    result = await action()
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        result = await action()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), result


async def measure_pages(url: str, runs: int = 5) -> tuple[dict[str, float], dict[str, str]]:
    """Milliseconds per `apage` (limit 50) for each case on a filled database, and what each
    page held ("50 jobs", "0 jobs, goes on"); and per `aoverview` (counts every job)."""
    app = Conveyor(url)
    figures, held = {}, {}
    try:
        now = datetime.now(UTC)
        newest = (await app.admin.apage(limit=1)).jobs[0].id
        for label, (where, cursor) in cases(max(1, newest // 10), now).items():
            def one_page(w: JobFilter = where, c: str | None = cursor) -> Awaitable[Any]:
                return app.admin.apage(w, cursor=c)

            key = f"page: {label}"
            figures[key], page = await _median_ms(one_page, runs)
            held[key] = f"{len(page.jobs)} jobs" + (", goes on" if page.next_cursor else "")
        figures["overview"], view = await _median_ms(app.admin.aoverview, runs)
        held["overview"] = f"{len(view.queues)} queues"
        await _measure_rendered(app, runs, figures, held)
        return figures, held
    finally:
        await app.aclose()


RENDERED = {
    "html: jobs, first page": ("/jobs", ""),
    "html: jobs, state discarded": ("/jobs", "state=discarded"),
    "html: jobs, queue + state": ("/jobs", "state=running&queue=mail"),
    "html: jobs, name, oldest first": ("/jobs", "name=shop.rare_report&order=oldest"),
    "html: jobs, text search": ("/jobs", "text=customer-4242%40"),
    "html: overview": ("/", ""),
}


async def _measure_rendered(app: Conveyor, runs: int, figures: dict[str, float],
                            held: dict[str, str]) -> None:
    """Server time of whole dashboard pages, rendered by the ASGI app for a logged-in admin."""
    from conveyor import web

    asgi = web.create_app(app, auth=lambda _request: web.User("bench"))
    for label, (path, query) in RENDERED.items():
        def one(p: str = path, q: str = query) -> Awaitable[tuple[int, int]]:
            return _asgi_get(asgi, p, q)

        figures[label], (status, size) = await _median_ms(one, runs)
        held[label] = f"HTTP {status}, {size // 1024} KiB"


async def _asgi_get(asgi: Any, path: str, query: str) -> tuple[int, int]:
    """GET `path?query` from an ASGI app in this process: (status, body bytes)."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", b"127.0.0.1")], "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 80)}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asgi(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, sum(len(m.get("body", b"")) for m in sent if m["type"] == "http.response.body")


def run(url: str, jobs: int) -> tuple[dict[str, float], dict[str, str]]:
    """Fill an emptied database with `jobs` jobs and time the pages."""
    databases.reset(url)
    setup = Conveyor(url)
    setup.migrate()
    setup.close()
    began = time.perf_counter()
    fill(url, jobs, datetime.now(UTC))
    figures = {"fill seconds": time.perf_counter() - began}
    pages, held = asyncio.run(measure_pages(url))
    figures.update(pages)
    return figures, held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="sqlite:///dashboard-bench.db")
    parser.add_argument("--jobs", type=int, default=1_000_000)
    args = parser.parse_args()
    figures, held = run(args.url, args.jobs)
    print(f"{args.jobs:,} jobs filled in {figures.pop('fill seconds'):.1f} s; "
          "apage(limit=50) and whole pages (html), median of 5:")
    for label, ms in figures.items():
        print(f"  {label:38s} {ms:8.2f} ms   {held[label]}")


if __name__ == "__main__":
    main()
