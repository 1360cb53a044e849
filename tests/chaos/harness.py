"""The chaos harness: a supervisor of real `conveyor worker` processes, the side ledger, and
the invariants every scenario must keep.

The supervisor kills only the PIDs it started, restarts them, and records every signal it
sent. `check_invariants` runs after each scenario: no job lost, every completed job has a
successful ledger run, no run starts after its job completed, nothing left `running`, an
intact SQLite file, and a sentinel secret in no log, row or listing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from conveyor import Conveyor, JobFilter, JobState
from conveyor.cli import context
from conveyor.cli.main import cli
from conveyor.registry import JobType
from tests.chaos import chaos_app
from tests.conftest import raw
from tests.worker.harness import start_worker, wait_for

APP = "tests.chaos.chaos_app:app"
SOAK = os.environ.get("CONVEYOR_SOAK") == "1"
SECRET = "sk-live-CHAOS-SENTINEL-4d1e"
"""Passed as a secret-named keyword argument; must appear in no log, error, result or listing."""

__all__ = [
    "SECRET",
    "SOAK",
    "Run",
    "Supervisor",
    "check_invariants",
    "counts_by_state",
    "enqueue",
    "make_app",
    "plant_secret",
    "runs",
    "wait_for",
]


@dataclasses.dataclass(frozen=True, slots=True)
class Signal:
    pid: int
    signum: int
    at: float
    """Wall-clock time (the ledger's clock)."""
    leader: bool = False
    """The victim held the leader lease when it was signalled."""


class Supervisor:
    """Starts `count` workers; kills only its own PIDs; records every signal sent."""

    def __init__(self, url: str, ledger: Path, log: Path, count: int, *worker_args: str,
                 app: str = APP) -> None:
        self.url, self.ledger, self.log, self.args, self.app = url, ledger, log, worker_args, app
        self.workers = [self._start() for _ in range(count)]
        self.signals: list[Signal] = []
        self.exit_codes: list[int] = []
        """Of workers that were stopped or killed, in order."""
        self.newest: int | None = None
        """Index of the last replacement started (it may still be starting up at `stop`)."""

    def _start(self) -> subprocess.Popen[bytes]:
        return start_worker(self.url, self.ledger, *self.args, log=self.log, app=self.app)

    @property
    def pids(self) -> list[int]:
        return [proc.pid for proc in self.workers]

    def alive(self) -> bool:
        return all(proc.poll() is None for proc in self.workers)

    def leader_pid(self) -> int | None:
        rows = raw(self.url, "SELECT holder FROM conveyor_leases WHERE name = 'leader'")
        return int(rows[0][0].split(":")[1]) if rows else None

    def send(self, index: int, signum: int) -> Signal:
        pid = self.workers[index].pid
        leader = self.leader_pid() == pid
        sent = Signal(pid, signum, time.time(), leader)
        self.workers[index].send_signal(signum)
        self.signals.append(sent)
        return sent

    def kill_random(self, rng: random.Random) -> Signal:
        """SIGKILL a random worker of ours and start a replacement."""
        index = rng.randrange(len(self.workers))
        sent = self.send(index, signal.SIGKILL)
        self.exit_codes.append(self.workers[index].wait(timeout=30))
        self.workers[index] = self._start()
        self.newest = index
        return sent

    def restart(self) -> None:
        """Start a fresh worker in place of every one that has exited."""
        for index, proc in enumerate(self.workers):
            if proc.poll() is not None:
                self.workers[index] = self._start()

    def stop(self, timeout: float = 60) -> list[int]:
        """SIGTERM every live worker; their exit codes (a hung one is killed, code -9)."""
        for index, proc in enumerate(self.workers):
            if proc.poll() is None:
                self.send(index, signal.SIGTERM)
        codes = []
        for proc in self.workers:
            try:
                codes.append(proc.wait(timeout=timeout))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes.append(proc.wait())
        return codes

    @property
    def kills(self) -> list[Signal]:
        return [s for s in self.signals if s.signum == signal.SIGKILL]


@dataclasses.dataclass(frozen=True, slots=True)
class Run:
    job_id: int | None
    token: str
    attempt: int | None
    pid: int
    started: float
    ended: float | None
    outcome: str | None


def runs(ledger: Path) -> list[Run]:
    if not ledger.exists():
        return []
    with contextlib.closing(sqlite3.connect(ledger, timeout=60)) as conn:
        try:
            rows = conn.execute("SELECT job_id, token, attempt, pid, started, ended, outcome "
                                "FROM runs ORDER BY started").fetchall()
        except sqlite3.OperationalError:  # no run yet
            return []
    return [Run(*row) for row in rows]


def make_app(url: str) -> Conveyor:
    """The test side's app: the chaos jobs on this test's database."""
    app = Conveyor(url, settings=chaos_app.SETTINGS)
    app.registry = chaos_app.app.registry
    return app


def enqueue(app: Conveyor, job_type: JobType[Any, Any],
            calls: Iterable[tuple[Sequence[Any], dict[str, Any]]]) -> dict[int, str]:
    """Insert the calls atomically; {job id: token (the first argument)}."""
    rows = [job_type.new_job(list(args), kwargs, job_type.defaults) for args, kwargs in calls]
    jobs = app.blocking.run(lambda: app.insert(rows))
    return {job.id: str(job.args[0]) for job in jobs}


def plant_secret(app: Conveyor) -> dict[int, str]:
    """A job that carries the sentinel secret in a secret-named keyword argument."""
    return enqueue(app, chaos_app.login, [(["secret-carrier"], {"api_token": SECRET})])


def counts_by_state(app: Conveyor) -> dict[JobState, int]:
    out: dict[JobState, int] = {}
    for (_, state), n in app.counts().items():
        out[state] = out.get(state, 0) + n
    return out


def _cli(app: Conveyor, *args: str) -> str:
    obj = context.CliContext(app_spec=None, url=None, _app=app)
    result = CliRunner(env={"COLUMNS": "250"}).invoke(cli, list(args), obj=obj,
                                                      catch_exceptions=False)
    return result.output


def check_invariants(app: Conveyor, url: str, ledger: Path, tokens: dict[int, str],
                     logs: Sequence[Path] = ()) -> dict[str, int]:
    """The invariants of every scenario, for the jobs in `tokens` ({id: token}).

    Returns {state: count} of those jobs."""
    jobs = {job.id: job for job in app.jobs(JobFilter(limit=len(tokens) + 1000))}
    missing = set(tokens) - set(jobs)
    assert not missing, f"jobs lost: {sorted(missing)[:10]}"
    unfinished = [(i, jobs[i].state) for i in tokens if not jobs[i].is_final]
    assert not unfinished, f"jobs not final: {unfinished[:10]}"
    assert raw(url, "SELECT count(*) FROM conveyor_jobs WHERE state = 'running'") == [(0,)]
    by_token: dict[str, list[Run]] = {}
    for run in runs(ledger):
        by_token.setdefault(run.token, []).append(run)
    for job_id, token in tokens.items():
        job = jobs[job_id]
        if job.state == JobState.COMPLETED:
            assert any(r.outcome == "ok" for r in by_token.get(token, [])), \
                f"job {job_id} completed without a successful run: {by_token.get(token)}"
        if job.finalized_at is not None:
            late = [r for r in by_token.get(token, [])
                    if r.started > job.finalized_at.timestamp() + 0.001]
            assert not late, f"job {job_id} ran after it was finalized: {late}"
    if url.startswith("sqlite"):
        assert raw(url, "PRAGMA integrity_check") == [("ok",)]
    _assert_no_secret(app, url, logs)
    states: dict[str, int] = {}
    for job_id in tokens:
        states[jobs[job_id].state.value] = states.get(jobs[job_id].state.value, 0) + 1
    return states


def _assert_no_secret(app: Conveyor, url: str, logs: Sequence[Path]) -> None:
    for log in logs:
        if log.exists():
            assert SECRET not in log.read_text(errors="replace"), f"secret in {log}"
    # Every stored column but the arguments themselves (which must hold it, to run the job).
    stored = raw(url, "SELECT errors, result, meta, attempted_by FROM conveyor_jobs")
    assert not [row for row in stored if SECRET in repr(row)], "secret in a job row"
    for table in ("conveyor_audit",):
        assert SECRET not in repr(raw(url, f"SELECT * FROM {table}"))
    pages = [_cli(app, "jobs", "list", "--json"), _cli(app, "jobs", "list"),
             _cli(app, "failed", "--json")]
    carriers = raw(url, "SELECT id FROM conveyor_jobs WHERE name = 'login'")
    pages += [_cli(app, "jobs", "show", str(row[0]), "--json") for row in carriers]
    assert all(SECRET not in page for page in pages), "secret in a CLI listing"


def integrity_ok(url: str) -> bool:
    return raw(url, "PRAGMA integrity_check") == [("ok",)]


def wait_all_final(app: Conveyor, count: int, timeout: float, what: str = "every job") -> None:
    final = (JobState.COMPLETED, JobState.DISCARDED, JobState.CANCELLED)
    wait_for(lambda: sum(n for s, n in counts_by_state(app).items() if s in final) >= count,
             timeout, f"{what} to finish ({counts_by_state(app)})")
