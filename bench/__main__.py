"""`python -m bench`: the whole benchmark suite on SQLite and PostgreSQL; prints one table.

Each backend gets a fresh database (SQLite: a file in a temporary directory; PostgreSQL: a
database created on `--pg-server` and dropped afterwards). Every figure is also read as a
fraction of the raw floor (`bench.floor`) measured the same way on the same database, and
of the same floor on Conveyor's own table (group `tablefloor`, `bench.floor.schema`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import time
from typing import Any

from rich.console import Console

from bench import databases, report, suite


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite,postgres",
                        help="comma-separated: sqlite, postgres (default: both)")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes: a smoke run of every measurement in about a minute")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run the whole suite this many times (the issue asks for 2)")
    parser.add_argument("--skip", default="",
                        help=f"comma-separated groups to leave out: {', '.join(suite.GROUPS)}")
    parser.add_argument("--finished", type=int, metavar="N",
                        help="finished jobs in the table for the prefilled group "
                             "(default 10,000,000; --quick 20,000)")
    parser.add_argument("--backlog", type=int, metavar="N",
                        help="available jobs waiting for the backlog group "
                             "(default 1,000,000; --quick 20,000)")
    parser.add_argument("--verbose", action="store_true",
                        help="print the plan of the claim's candidate statement on the big "
                             "tables (EXPLAIN ANALYZE on PostgreSQL)")
    parser.add_argument("--json", metavar="PATH", help="also write every figure to this file")
    parser.add_argument("--pg-server", default=databases.PG_SERVER,
                        help="PostgreSQL server where a throw-away database is created")
    args = parser.parse_args(argv)
    args.backend_list = [b.strip() for b in args.backends.split(",") if b.strip()]
    args.skip_set = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = [b for b in args.backend_list if b not in report.BACKENDS]
    unknown += [s for s in args.skip_set if s not in suite.GROUPS]
    if unknown:
        parser.error(f"unknown backend or group: {', '.join(unknown)}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    console = Console(stderr=True)
    sizes = suite.Sizes.quick() if args.quick else suite.Sizes()
    if args.finished is not None:
        sizes = dataclasses.replace(sizes, finished=args.finished)
    if args.backlog is not None:
        sizes = dataclasses.replace(sizes, backlog=args.backlog)
    if args.pg_server != databases.PG_SERVER:
        databases.PG_SERVER = args.pg_server

    def say(line: str) -> None:  # progress (and plans) on stderr, long lines unwrapped
        console.print(line, style="dim", highlight=False, markup=False,
                      soft_wrap=True)

    rounds: list[dict[str, dict[str, Any]]] = []
    began = time.perf_counter()
    for number in range(1, args.rounds + 1):
        console.print(f"[bold]round {number} of {args.rounds}[/]")
        by_backend = {}
        for backend in args.backend_list:
            by_backend[backend] = suite.run_backend(backend, sizes, args.skip_set, say,
                                                    args.verbose)
        rounds.append(by_backend)
    out = Console(width=max(Console().width, 150))
    labels = {"prefill": sizes.prefill, "rss_jobs": sizes.rss_jobs, "batch": sizes.batch,
              "finished": sizes.finished, "backlog": sizes.backlog, "jobs": sizes.jobs}
    for number, by_backend in enumerate(rounds, start=1):
        out.print(report.table(f"round {number} of {args.rounds}", by_backend, labels))
        for line in report.errors(by_backend):
            out.print(f"[red]failed[/] {line}", highlight=False)
    out.print(f"{sizes.jobs:,} jobs per run, {sizes.processes} worker processes x concurrency "
              f"{sizes.concurrency}; latency at {sizes.rate:g}/s for {sizes.seconds:g} s; "
              f"{time.perf_counter() - began:.0f} s in all", highlight=False)
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"sizes": dataclasses.asdict(sizes), "python": sys.version,
                       "machine": platform.platform(), "rounds": rounds}, file, indent=2)


if __name__ == "__main__":
    main()
