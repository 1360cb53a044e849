"""Every measurement of the suite on one backend, in a database made for the run.

Each group is named (for `--skip`) and fills figures in a flat dict; a group that fails
records its error and the others still run.
"""

from __future__ import annotations

import dataclasses
import traceback
from collections.abc import Callable
from typing import Any

from bench import batch_rss, dashboard, databases, floor, latency, throughput, unique

GROUPS = ("floor", "enqueue", "process", "latency", "prefilled", "rss", "limited", "unique",
          "batch", "dashboard")


@dataclasses.dataclass(frozen=True)
class Sizes:
    jobs: int = 20_000
    prefill: int = 1_000_000
    rss_jobs: int = 200_000
    batch: int = 100_000
    rate: float = 100.0
    seconds: float = 10.0
    processes: int = 2
    concurrency: int = 200

    @classmethod
    def quick(cls) -> Sizes:
        return cls(jobs=2_000, prefill=20_000, rss_jobs=10_000, batch=5_000, seconds=2.0)


Results = dict[str, Any]


class Run:
    """The measurements on one database URL."""

    def __init__(self, url: str, sizes: Sizes, say: Callable[[str], None]) -> None:
        self.url, self.sizes, self.say = url, sizes, say

    def floor(self, out: Results) -> None:
        rates = floor.measure(self.url, self.sizes.jobs, self.sizes.processes,
                              self.sizes.concurrency)
        out.update({f"floor {name}": rate for name, rate in rates.items()})

    def enqueue(self, out: Results) -> None:
        out.update(throughput.enqueue_rates(self.url, self.sizes.jobs))

    def _process(self, jobs: int, **options: Any) -> throughput.ProcessRun:
        run = throughput.process_rate(self.url, jobs, self.sizes.processes,
                                      self.sizes.concurrency, **options)
        if run.done != jobs:
            raise RuntimeError(f"only {run.done} of {jobs} jobs completed")
        return run

    def process(self, out: Results) -> None:
        out["process"] = self._process(self.sizes.jobs).rate

    def latency(self, out: Results) -> None:
        got = latency.measure(self.url, self.sizes.rate, self.sizes.seconds,
                              self.sizes.processes)
        out["latency p50"], out["latency p99"] = got.p50, got.p99

    def prefilled(self, out: Results) -> None:
        out["process, finished in table"] = self._process(
            self.sizes.jobs, prefill=self.sizes.prefill).rate
        if "process" in out:
            out["prefilled vs empty"] = out["process, finished in table"] / out["process"]

    def rss(self, out: Results) -> None:
        run = self._process(self.sizes.rss_jobs, sample_rss=True)
        out["process, RSS run"] = run.rate
        out["worker RSS"] = [dataclasses.asdict(r) for r in run.rss]
        out["worker RSS growth"] = max((r.growth for r in run.rss), default=0.0)

    def limited(self, out: Results) -> None:
        out["process rate-limited"] = self._process(self.sizes.jobs,
                                                    job_name="noop_limited").rate

    def unique(self, out: Results) -> None:
        out.update(unique.enqueue_rates(self.url, self.sizes.jobs))

    def batch(self, out: Results) -> None:
        got = batch_rss.in_fresh_process(self.url, self.sizes.batch)
        if got is None:
            self.say("  batch: this Conveyor has no app.batch yet; skipped")
            return
        out["batch from iterable"] = got["rate"]
        out["batch peak RSS"] = got["rss_peak"]
        out["batch RSS before"] = got["rss_before"]


    def dashboard(self, out: Results) -> None:
        figures, _ = dashboard.run(self.url, self.sizes.prefill)
        out.update({key: value for key, value in figures.items() if key != "fill seconds"})


def run_backend(backend: str, sizes: Sizes, skip: set[str],
                say: Callable[[str], None]) -> Results:
    """All groups not in `skip` on a fresh `backend` database; figures by name."""
    out: Results = {"errors": {}}
    with databases.temporary(backend) as url:
        run = Run(url, sizes, say)
        for group in GROUPS:
            if group in skip:
                continue
            say(f"  {backend}: {group} ...")
            try:
                getattr(run, group)(out)
            except (Exception, SystemExit) as exc:
                out["errors"][group] = f"{type(exc).__name__}: {exc}"
                say(f"  {backend}: {group} FAILED: {exc}\n{traceback.format_exc(limit=3)}")
    return out
