"""Peak memory while building a 100,000-job batch from an iterable; prints numbers.

    python -m bench.batch_rss --url sqlite:////tmp/batch.db --jobs 100000 [--json]

The calls come from a generator, so only one chunk of rows is in memory at a time; the
figure is this process's peak RSS (ru_maxrss) after the batch is in, next to its RSS before.
The suite runs this module in a fresh process so that the peak is the batch's alone.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from bench import bench_app, workers
from bench.databases import reset


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def build_batch(url: str, jobs: int) -> dict[str, float] | None:
    """Seconds, jobs/s and RSS (MB) around one batch; None when the app has no batches."""
    reset(url)
    app = bench_app.build(url)
    if not hasattr(app, "batch"):
        return None
    app.migrate()
    noop = app.registry.get("noop")
    before = rss_mb()
    started = time.perf_counter()
    batch = app.batch((noop.s(n) for n in range(jobs)), name="rss")
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = batch.progress.total
    after = rss_mb()
    app.close()
    return {"jobs": total, "seconds": elapsed, "rate": total / elapsed,
            "rss_before": before, "rss_peak": peak, "rss_after": after}


def in_fresh_process(url: str, jobs: int) -> dict[str, float] | None:
    out = subprocess.run([sys.executable, "-m", "bench.batch_rss", "--url", url, "--jobs",
                          str(jobs), "--json"], cwd=workers.ROOT, env=workers.environment(url),
                         capture_output=True, text=True, check=True)
    result: dict[str, float] | None = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    options = parser.parse_args()
    got = build_batch(options.url, options.jobs)
    if options.json:
        print(json.dumps(got))
    elif got is None:
        print("this Conveyor has no app.batch: skipped")
    else:
        print(f"batch of {got['jobs']:,.0f} jobs from a generator: {got['seconds']:.2f} s "
              f"({got['rate']:,.0f} jobs/s); RSS before {got['rss_before']:.0f} MB, "
              f"peak {got['rss_peak']:.0f} MB, after {got['rss_after']:.0f} MB")


if __name__ == "__main__":
    main()
