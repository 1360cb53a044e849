"""Worker processes for the benchmarks, and their memory (VmRSS) sampled while they run."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conveyor import Conveyor

ROOT = Path(__file__).resolve().parent.parent


def environment(url: str) -> dict[str, str]:
    """The workers' environment: this checkout's `bench` and `conveyor` (its `src`) come
    first, so a benchmark run from another checkout measures that checkout's engine, not
    the one the virtual environment has installed."""
    return {**os.environ, "CONVEYOR_URL": url,
            "PYTHONPATH": os.pathsep.join((str(ROOT / "src"), str(ROOT)))}


def conveyor_command(*options: str, app: str = "bench.bench_app:app") -> list[str]:
    """`conveyor --app bench.bench_app:app worker ...` as one process (no supervisor), so
    the process started is the one that runs jobs and its RSS is the worker's."""
    return [sys.executable, "-m", "conveyor", "--app", app, "worker",
            "--no-migrate", "--processes", "1", *options]


def start(command: list[str], url: str, processes: int) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen(command, cwd=ROOT, env=environment(url),
                             stderr=subprocess.DEVNULL) for _ in range(processes)]


def wait_registered(app: Conveyor, count: int, timeout: float = 60.0) -> None:
    """Return once `count` workers are alive in `app`'s storage, and a moment more for their
    first claim to find nothing and wait: jobs timed before that would measure start-up."""
    deadline = time.monotonic() + timeout
    while sum(worker.alive for worker in app.admin.workers()) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {count} workers registered in {timeout:g} s")
        time.sleep(0.05)
    time.sleep(0.5)


def rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


@dataclasses.dataclass
class Rss:
    """One worker's RSS in MB over the run: at its first start, highest, at its last finish,
    and half-way (growth in the second half is what a leak looks like)."""

    start: float
    peak: float
    middle: float
    end: float

    @property
    def growth(self) -> float:
        return self.end - self.middle


class Sampler(threading.Thread):
    """Reads each process's VmRSS every `interval` seconds until `stop()`."""

    def __init__(self, pids: list[int], interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.samples: dict[int, list[tuple[float, int]]] = {pid: [] for pid in pids}
        self.interval = interval
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            now = time.time()
            for pid, samples in self.samples.items():
                kb = rss_kb(pid)
                if kb is not None:
                    samples.append((now, kb))
            self.done.wait(self.interval)

    def stop(self) -> None:
        self.done.set()
        self.join()

    def summary(self, first: float, last: float) -> list[Rss]:
        """Per process, over the window from the run's first start to its last finish."""
        out = []
        for samples in self.samples.values():
            inside = [(t, kb / 1024) for t, kb in samples if first <= t <= last] or \
                [(t, kb / 1024) for t, kb in samples]
            if not inside:
                continue
            half = first + (last - first) / 2
            middle = min(inside, key=lambda s: abs(s[0] - half))[1]
            out.append(Rss(start=inside[0][1], peak=max(mb for _, mb in inside),
                           middle=middle, end=inside[-1][1]))
        return out


def wait_all(procs: list[subprocess.Popen[bytes]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for other in procs:
                other.kill()
            raise SystemExit(f"workers still running after {timeout:.0f} s") from None
