"""Cost of flow control: no-op jobs with and without a rate limit, side by side.

    python -m bench.limits --url sqlite:///bench.db --jobs 20000

The limited jobs spread over 500 keys at 100/s each, so the limit itself is never the
bottleneck: the difference is what admission (key lookups, slot updates) costs.
"""

from __future__ import annotations

import argparse

from bench import throughput


def run(url: str, name: str, jobs: int, processes: int, concurrency: int) -> float:
    got = throughput.process_rate(url, jobs, processes, concurrency, job_name=name)
    if got.done != jobs:
        raise SystemExit(f"only {got.done} of {jobs} {name} jobs completed")
    return got.rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="sqlite:///bench.db")
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=200)
    args = parser.parse_args()
    plain = run(args.url, "noop", args.jobs, args.processes, args.concurrency)
    limited = run(args.url, "noop_limited", args.jobs, args.processes, args.concurrency)
    print(f"{'unlimited no-op':24s} {plain:>10,.0f} jobs/s")
    print(f"{'rate-limited no-op':24s} {limited:>10,.0f} jobs/s  ({limited / plain:.0%} of "
          f"unlimited; 500 keys x 100/s)")


if __name__ == "__main__":
    main()
