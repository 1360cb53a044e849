"""Processing with a deep backlog: jobs/s working the first jobs of many waiting.

    python -m bench.deep --url sqlite:///deep.db --backlog 1000000 --jobs 20000 [--verbose]

Fills the jobs table with `--backlog` available no-op jobs in one statement, then lets
`--processes` workers each start `--jobs / --processes` of them (`--max-jobs`) and exit. The
rate runs from the first start to the last finish, read from the table, as for the other
processing figures: a claim whose index or plan degrades with the queue's depth shows here.
`--verbose` prints the plan of the claim's candidate statement on the deep table first.
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable

from bench import bench_app, databases, explain, throughput, workers


def backlog_rate(url: str, backlog: int, jobs: int, processes: int, concurrency: int,
                 show: Callable[[str], None] | None = None, repeats: int = 1,
                 ) -> throughput.ProcessRun:
    """Jobs/s starting `jobs` jobs (split between the processes) of `backlog` waiting; with
    `repeats`, the median of as many runs, each taking the next `jobs` of the backlog."""
    databases.reset(url)
    app = bench_app.build(url)
    app.migrate()
    app.close()
    databases.fill_available(url, backlog)
    if show is not None:
        show(f"claim candidates with {backlog:,} available:\n{explain.claim_plan(url)}")
    each = max(1, jobs // processes)
    command = workers.conveyor_command("--concurrency", str(concurrency), "--max-jobs",
                                       str(each))
    runs = []
    for _ in range(repeats):
        since = time.time()
        run = throughput.run_workers(url, command, processes, jobs, False,
                                     functools.partial(databases.span, url, since=since))
        if run.done != each * processes:
            raise RuntimeError(f"{run.done} of {each * processes} jobs completed")
        runs.append(run)
    return throughput.median_of(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="sqlite:///deep.db")
    parser.add_argument("--backlog", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--verbose", action="store_true", help="print the claim's plan")
    args = parser.parse_args()
    run = backlog_rate(args.url, args.backlog, args.jobs, args.processes, args.concurrency,
                       print if args.verbose else None)
    print(f"process {run.done:,} of {args.backlog:,} waiting: {run.rate:,.0f} jobs/s")


if __name__ == "__main__":
    main()
