"""One floor worker process: `python -m bench.floor.worker --url URL [--burst] [--table]`."""

from __future__ import annotations

import argparse
import asyncio

from bench import floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--claim", type=int, default=200, help="jobs claimed per statement")
    parser.add_argument("--burst", action="store_true", help="exit when nothing is waiting")
    parser.add_argument("--table", action="store_true",
                        help="the floor on Conveyor's table (bench.floor.schema)")
    args = parser.parse_args()
    asyncio.run(floor.engine(args.url, args.table).work(args.url, args.claim, args.burst))


if __name__ == "__main__":
    main()
