"""`python -m bench.floor --url URL --jobs N`: the raw floor's rates on one database."""

from __future__ import annotations

import argparse

from bench import floor


def main() -> None:
    parser = argparse.ArgumentParser(description=floor.__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--claim", type=int, default=200, help="jobs claimed per statement")
    args = parser.parse_args()
    for name, rate in floor.measure(args.url, args.jobs, args.processes, args.claim).items():
        print(f"raw floor {name:20s} {rate:>10,.0f} jobs/s")


if __name__ == "__main__":
    main()
