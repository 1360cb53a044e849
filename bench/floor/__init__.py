"""The raw floor: the least code that is still a durable queue, one module per engine.

One table (id, payload, state, attempt, started_at, finished_at) and a partial index on the
waiting rows. Enqueue is one INSERT committed per job (PostgreSQL notifies in the same
statement), or one transaction for a bulk. Each worker process runs one asyncio loop that,
in one transaction, completes the jobs it just ran and claims up to N more (PostgreSQL:
`UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED LIMIT N) RETURNING`; SQLite:
`UPDATE ... RETURNING` inside `BEGIN IMMEDIATE`), then runs them as no-op async tasks. Idle
workers wait on LISTEN (PostgreSQL) or poll (SQLite). No retries, no leases, no limits:
what is left is what the engine itself costs, and Conveyor's figures are read against it.

`table=True` runs the same loops on Conveyor's own `conveyor_jobs` (`bench.floor.schema`):
the floor on Conveyor's table, which splits the distance to the raw floor into the table's
share and the rest (Conveyor's code).

    python -m bench.floor --url postgresql://postgres@127.0.0.1:5432/bench --jobs 20000
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from bench import databases, workers
from bench.floor import pg, schema, sqlite

FIGURES = ("enqueue one", "enqueue bulk", "process")


def engine(url: str, table: bool = False) -> type[sqlite.Floor] | type[pg.Floor]:
    """The floor for `url`'s engine: on its own table, or on Conveyor's (`table`)."""
    if databases.is_sqlite(url):
        return schema.SqliteTable if table else sqlite.Floor
    return schema.PgTable if table else pg.Floor


def measure(url: str, jobs: int, processes: int = 2, claim: int = 200, table: bool = False,
            without: Sequence[str] = ()) -> dict[str, float]:
    """Jobs/s of the floor on `url`: enqueue one, enqueue bulk, and processing the bulk
    with `processes` worker processes (first start to last finish, counted completed).
    `table`: on Conveyor's table, less the indexes named in `without`."""
    floor = engine(url, table)
    try:
        floor.setup(url, without)
        one = floor.enqueue_one(url, jobs)
        rates = process(url, jobs, processes, claim, table=table, without=without)
    finally:
        floor.teardown(url)
    return {"enqueue one": one, "enqueue bulk": rates["enqueue bulk"],
            "process": rates["process"]}


def process(url: str, jobs: int, processes: int = 2, claim: int = 200,
            worker_url: str | None = None, table: bool = False,
            without: Sequence[str] = ()) -> dict[str, float]:
    """Enqueue `jobs` in bulk on `url`, then process them with workers connected to
    `worker_url` (default: `url`; e.g. through a delay proxy)."""
    floor = engine(url, table)
    floor.setup(url, without)
    bulk = floor.enqueue_bulk(url, jobs)
    via = worker_url or url
    command = [sys.executable, "-m", "bench.floor.worker", "--url", via, "--claim", str(claim),
               "--burst", *(["--table"] if table else [])]
    procs = workers.start(command, via, processes)
    workers.wait_all(procs, timeout=60 + jobs / 200)
    first, last, done = floor.span(url)
    if done != jobs:
        which = "table" if table else "raw"
        raise SystemExit(f"{which} floor: only {done} of {jobs} jobs completed")
    return {"enqueue bulk": bulk, "process": done / (last - first)}
