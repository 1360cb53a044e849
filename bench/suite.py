"""Every measurement of the suite on one backend, in a database made for the run.

Each group is named (for `--skip`) and fills figures in a flat dict; a group that fails
records its error and the others still run.
"""

from __future__ import annotations

import dataclasses
import traceback
from collections.abc import Callable
from typing import Any

from bench import (
    batch_rss,
    dashboard,
    databases,
    deep,
    explain,
    floor,
    latency,
    network,
    report,
    throughput,
    unique,
)
from bench.floor import latency as floor_latency

GROUPS = ("floor", "tablefloor", "enqueue", "process", "latency", "prefilled", "backlog", "rss",
          "limited", "unique", "batch", "dashboard", "network")


@dataclasses.dataclass(frozen=True)
class Sizes:
    jobs: int = 20_000
    prefill: int = 1_000_000
    finished: int = 10_000_000
    backlog: int = 1_000_000
    rss_jobs: int = 200_000
    batch: int = 100_000
    rate: float = 100.0
    seconds: float = 10.0
    processes: int = 2
    concurrency: int = 200
    repeats: int = 3
    """Runs of each processing figure that others are read against (empty table, big table,
    deep backlog); the median counts (`throughput.median_of`)."""

    @classmethod
    def quick(cls) -> Sizes:
        return cls(jobs=2_000, prefill=20_000, finished=20_000, backlog=20_000, rss_jobs=10_000,
                   batch=5_000, seconds=2.0, repeats=1)


Results = dict[str, Any]


class Run:
    """The measurements on one database URL."""

    def __init__(self, url: str, sizes: Sizes, say: Callable[[str], None],
                 verbose: bool = False) -> None:
        self.url, self.sizes, self.say, self.verbose = url, sizes, say, verbose

    def floor(self, out: Results) -> None:
        rates = floor.measure(self.url, self.sizes.jobs, self.sizes.processes,
                              self.sizes.concurrency)
        out.update({f"floor {name}": rate for name, rate in rates.items()})

    def tablefloor(self, out: Results) -> None:
        """The floor's loops on Conveyor's own table (`bench.floor.schema`)."""
        rates = floor.measure(self.url, self.sizes.jobs, self.sizes.processes,
                              self.sizes.concurrency, table=True)
        out.update({f"{report.TABLE_FLOOR_PREFIX}{name}": rate for name, rate in rates.items()})

    def enqueue(self, out: Results) -> None:
        out.update(throughput.enqueue_rates(self.url, self.sizes.jobs))

    def _process(self, jobs: int, **options: Any) -> throughput.ProcessRun:
        run = throughput.process_rate(self.url, jobs, self.sizes.processes,
                                      self.sizes.concurrency, **options)
        if run.done != jobs:
            raise RuntimeError(f"only {run.done} of {jobs} jobs completed")
        return run

    def process(self, out: Results) -> None:
        run = self._process(self.sizes.jobs, repeats=self.sizes.repeats)
        out["process"], out["process runs"] = run.rate, run.rates

    def latency(self, out: Results) -> None:
        got = latency.measure(self.url, self.sizes.rate, self.sizes.seconds,
                              self.sizes.processes)
        out["latency p50"], out["latency p99"] = got.p50, got.p99
        out["latency stages"], out["latency tail stages"] = got.stages, got.tail
        if not databases.is_sqlite(self.url):  # what plain psycopg does, stage by stage
            raw = floor_latency.measure(self.url, self.sizes.rate, self.sizes.seconds,
                                        self.sizes.processes)
            out[report.FLOOR_P50], out[report.FLOOR_P99] = raw.p50, raw.p99
            out["floor latency stages"], out["floor latency tail stages"] = raw.stages, raw.tail

    def _show_plan(self, what: str) -> None:
        if self.verbose:
            self.say(f"  claim candidates with {what}:\n{explain.claim_plan(self.url)}")

    def prefilled(self, out: Results) -> None:
        finished = self.sizes.finished
        run = self._process(
            self.sizes.jobs, prefill=finished, repeats=self.sizes.repeats,
            ready=lambda: self._show_plan(f"{finished:,} finished in the table"))
        out["process, finished in table"], out["finished in table runs"] = run.rate, run.rates
        if "process" in out:
            out["prefilled vs empty"] = out["process, finished in table"] / out["process"]

    def backlog(self, out: Results) -> None:
        show = self.say if self.verbose else None
        run = deep.backlog_rate(self.url, self.sizes.backlog, self.sizes.jobs,
                                self.sizes.processes, self.sizes.concurrency, show,
                                self.sizes.repeats)
        out["process, deep backlog"], out["deep backlog runs"] = run.rate, run.rates
        if "process" in out:
            out["backlog vs queued"] = out["process, deep backlog"] / out["process"]

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

    def network(self, out: Results) -> None:
        if databases.is_sqlite(self.url):
            self.say("  network: PostgreSQL only (SQLite is a file on this machine)")
            return
        sizes = self.sizes
        out.update(network.measure(self.url, sizes.jobs, sizes.processes, sizes.concurrency,
                                   sizes.rate, sizes.seconds, say=self.say))
        base = network.DELAYS[0]
        if out.get("process"):
            out[network.key(base, "process vs direct")] = (
                out[network.key(base, "process")] / out["process"])


def run_backend(backend: str, sizes: Sizes, skip: set[str],
                say: Callable[[str], None], verbose: bool = False) -> Results:
    """All groups not in `skip` on a fresh `backend` database; figures by name. `verbose`
    prints the claim's plan on the big tables."""
    out: Results = {"errors": {}}
    with databases.temporary(backend) as url:
        run = Run(url, sizes, say, verbose)
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
