"""`python -m bench.floor.table`: how much of the table floor's distance to the raw floor its
indexes are. A one-off breakdown, not part of `python -m bench`.

On each backend, the raw floor and the floor on Conveyor's table with every index, without
the listing indexes (`--indexes listing`: state, queue, name, state_queue) and without any
secondary index but the claim's (`--indexes secondary`), measured in turns: every variant
once, then again, `--alternations` times, so the machine's load falls on all alike. Prints
each variant's median and range (jobs/s), the CPU per job of enqueue one (the client's, with
SQLite's engine in it; PostgreSQL's server backend's), and the load average before and after.

    python -m bench.floor.table --backends sqlite,postgres --indexes listing,secondary
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
from collections.abc import Callable, Sequence

import psycopg

from bench import databases, floor
from bench.floor import pg, schema, sqlite

FIGURES = ("enqueue one", "enqueue bulk", "process")
DROPS: dict[str, Callable[[str], list[str]]] = {
    "all": lambda url: [],
    "listing": lambda url: list(schema.LISTING),
    "secondary": schema.secondary,
}
"""The indexes each variant leaves out, read from a freshly migrated table. A variant may
also name indexes itself, joined by "+" (`conveyor_jobs_name+conveyor_jobs_queue`)."""


def left_out(variant: str, url: str) -> list[str]:
    """The indexes `variant` leaves out (a name of `DROPS`, or index names joined by "+")."""
    if variant in DROPS:
        return DROPS[variant](url)
    return variant.split("+")


def _ticks(pid: int) -> int:
    """User and system CPU of a process on this machine, in clock ticks."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def enqueue_one(engine: type[sqlite.Floor] | type[pg.Floor], url: str,
                jobs: int) -> dict[str, float]:
    """Enqueue one's rate, and its CPU microseconds per job: this process's (on SQLite, the
    engine's too) and, on PostgreSQL, the server backend's (a server on this machine)."""
    began = time.process_time()
    if issubclass(engine, pg.Floor):
        with engine.connect(url) as conn:
            backend = conn.info.backend_pid
            ticks = _ticks(backend)
            rate = engine.enqueue_on(conn, jobs)
            server = (_ticks(backend) - ticks) / os.sysconf("SC_CLK_TCK")
    else:
        with contextlib.closing(engine.connect(url)) as lite:
            rate = engine.enqueue_on(lite, jobs)
            server = 0.0
    client = time.process_time() - began
    return {"enqueue one": rate, "CPU us, client": client / jobs * 1e6,
            "CPU us, server": server / jobs * 1e6}


def run(url: str, jobs: int, table: bool, without: Sequence[str]) -> dict[str, float]:
    """`floor.measure`, with enqueue one's CPU per job."""
    engine = floor.engine(url, table)
    try:
        engine.setup(url, without)
        one = enqueue_one(engine, url, jobs)
        rates = floor.process(url, jobs, table=table, without=without)
    finally:
        engine.teardown(url)
    return {**one, **rates}


def breakdown(url: str, jobs: int, indexes: Sequence[str], alternations: int,
              say: Callable[[str], None] = print) -> dict[str, list[dict[str, float]]]:
    """Every variant's runs, by variant ("raw floor", "table, all indexes", ...)."""
    schema.create(url)
    variants: dict[str, tuple[bool, list[str]]] = {"raw floor": (False, [])}
    for name in indexes:
        variants[f"table, without {name}" if name != "all" else "table, all indexes"] = (
            True, left_out(name, url))
    databases.reset(url)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for turn in range(1, alternations + 1):
        for name, (table, without) in variants.items():
            got = run(url, jobs, table, without)
            runs[name].append(got)
            say(f"  turn {turn} {name:28s} " + "  ".join(
                f"{figure} {value:,.0f}" for figure, value in got.items())
                + f"  load {os.getloadavg()[0]:.2f}")
    return runs


def summary(runs: dict[str, list[dict[str, float]]]) -> list[str]:
    """One line a variant: median [min-max] of each figure."""
    lines = []
    for name, results in runs.items():
        cells = []
        for figure in (*FIGURES, "CPU us, client", "CPU us, server"):
            values = [r[figure] for r in results]
            if not any(values):  # SQLite has no server
                continue
            unit = "" if figure.startswith("CPU") else "/s"
            cells.append(f"{figure} {statistics.median(values):,.0f}{unit} "
                         f"[{min(values):,.0f}-{max(values):,.0f}]")
        lines.append(f"{name:28s} " + "; ".join(cells))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--indexes", default="all,listing,secondary",
                        help=f"variants of the table, comma-separated: {', '.join(DROPS)}, or "
                             "index names joined by '+'")
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--alternations", type=int, default=3)
    parser.add_argument("--no-commit-wait", action="store_true",
                        help="PostgreSQL: synchronous_commit off in the database, so a commit "
                             "does not wait for the disk (a busy disk otherwise sets enqueue "
                             "one's rate, whatever the table)")
    args = parser.parse_args()
    indexes = [name.strip() for name in args.indexes.split(",") if name.strip()]
    unknown = [name for name in indexes if name not in DROPS
               and not all(part.startswith("conveyor_") for part in name.split("+"))]
    if unknown:
        parser.error(f"unknown --indexes: {', '.join(unknown)}")
    for backend in args.backends.split(","):
        with databases.temporary(backend.strip()) as url:
            if args.no_commit_wait and not databases.is_sqlite(url):
                with psycopg.connect(url, autocommit=True) as conn:
                    name = conn.info.dbname
                    conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
            before = os.getloadavg()
            print(f"{backend}: {args.jobs:,} jobs, load {before[0]:.2f} {before[1]:.2f}")
            runs = breakdown(url, args.jobs, indexes, args.alternations)
            after = os.getloadavg()
            print(*summary(runs), sep="\n")
            print(f"{backend}: load after {after[0]:.2f} {after[1]:.2f}")


if __name__ == "__main__":
    main()
