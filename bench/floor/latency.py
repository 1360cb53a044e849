"""The raw latency floor on PostgreSQL: what enqueue-to-start can be at a steady rate.

    python -m bench.floor.latency --url postgresql://postgres@127.0.0.1:5432/bench

Plain psycopg, nothing else. The producer inserts one row and notifies in one autocommitted,
prepared statement (`pg.INSERT`) at `--rate` per second. Each worker process LISTENs on its
own connection and, on a notification, claims with one prepared `UPDATE ... RETURNING`
(`FOR UPDATE SKIP LOCKED`), completing the jobs it ran before in the same statement, and
runs each claimed job as a coroutine. The stages are `bench.latency`'s, read the same way
(`time.time()` on this machine), so Conveyor's are read against them one by one:

    enqueue   the producer's execute, called -> returned
    wake      returned -> the worker's clock as it sends its claim (kept in `started_at`)
    claim     claim sent -> the job's coroutine entered (the claim's round trip)
    start     entered -> the job's first line
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import time

import orjson
import psycopg

from bench import latency, workers
from bench.floor import pg

CLAIM = """
WITH done AS (
    UPDATE floor_jobs AS f SET state = 'completed', finished_at = clock_timestamp(),
                               payload = f.payload || r.marks
      FROM unnest(%(done)s::bigint[], %(marks)s::jsonb[]) AS r(id, marks) WHERE f.id = r.id
)
UPDATE floor_jobs SET state = 'running', attempt = attempt + 1, started_at = to_timestamp(%(at)s)
 WHERE id IN (SELECT id FROM floor_jobs WHERE state = 'available' ORDER BY id
              LIMIT %(claim)s FOR UPDATE SKIP LOCKED)
RETURNING id, payload
"""
"""Complete the jobs run (their marks kept in the payload), then claim: one round trip."""
READ = """SELECT (payload->>'called')::float8, (payload->>'returned')::float8,
                 extract(epoch FROM started_at)::float8, (payload->>'entered')::float8,
                 (payload->>'started')::float8
            FROM floor_jobs WHERE state = 'completed' ORDER BY id"""
MARK = "UPDATE floor_jobs SET payload = payload || %s::jsonb WHERE id = %s"


async def stamp() -> float:
    """The job: when its first line ran."""
    return time.time()


async def work(url: str, claim: int) -> None:
    """Wait for a notification, claim, run; until killed."""
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    await conn.execute("LISTEN floor_jobs")
    done: list[int] = []
    marks: list[str] = []
    while True:
        params = {"done": done, "marks": marks, "claim": claim, "at": time.time()}
        cur = await conn.execute(CLAIM, params, prepare=True)
        rows = await cur.fetchall()
        done, marks = [], []
        for job_id, _ in rows:
            entered = time.time()
            started = await stamp()
            done.append(job_id)
            marks.append(orjson.dumps({"entered": entered, "started": started}).decode())
        if not rows:
            async for _ in conn.notifies(timeout=1.0, stop_after=1):
                pass


def measure(url: str, rate: float, seconds: float, processes: int = 2,
            claim: int = 10) -> latency.Latency:
    """Milliseconds from enqueue to start over `rate * seconds` jobs, as `bench.latency`."""
    pg.Floor.setup(url)
    command = [sys.executable, "-m", "bench.floor.latency", "--url", url, "--worker",
               "--claim", str(claim)]
    procs = workers.start(command, url, processes)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            time.sleep(2.0)  # let the workers start and listen
            count = int(rate * seconds)
            sent: list[tuple[int, float, float]] = []
            began = time.perf_counter()
            for i in range(count):
                time.sleep(max(0.0, began + i / rate - time.perf_counter()))
                called = time.time()
                row = conn.execute(pg.INSERT, ('{"args": []}',), prepare=True).fetchone()
                sent.append((row[0] if row else 0, called, time.time()))
            with conn.cursor() as cur:
                cur.executemany(MARK, [(orjson.dumps({"called": c, "returned": r}).decode(), i)
                                       for i, c, r in sent])
            deadline = time.monotonic() + 30
            while len(rows := conn.execute(READ).fetchall()) < count:
                if time.monotonic() > deadline:
                    raise SystemExit(f"raw latency floor: {len(rows)} of {count} jobs ran")
                time.sleep(0.1)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait()
    return latency.summary([tuple((b - a) * 1000 for a, b in itertools.pairwise(row))
                            for row in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--claim", type=int, default=10, help="jobs claimed per statement")
    parser.add_argument("--worker", action="store_true", help="run one worker (internal)")
    args = parser.parse_args()
    if args.worker:
        asyncio.run(work(args.url, args.claim))
        return
    got = measure(args.url, args.rate, args.seconds, args.processes, args.claim)
    latency.show("raw floor enqueue-to-start", got, args.rate)


if __name__ == "__main__":
    main()
