"""isolation="process": hard timeouts, remote errors and crashed children."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from conveyor import Conveyor, JobState
from tests.conftest import FAST
from tests.worker import harness

pytestmark = pytest.mark.slow



def enqueue(app: Conveyor, action: str) -> int:
    job_type = app.registry.get("isolated")
    row = job_type.new_job([action], {}, job_type.defaults)
    return app.blocking.run(lambda: app.insert([row]))[0].id


def run(app: Conveyor, action: str) -> tuple[JobState, str, str, object]:
    job_id = enqueue(app, action)
    app.drain()
    stored = app.get(job_id)
    last = stored.errors[-1] if stored.errors else None
    return (stored.state, last.type if last else "", last.message if last else "",
            stored.result)


def test_runs_in_another_process(proc_app: Conveyor) -> None:
    state, _, _, pid = run(proc_app, "pid")
    assert state == JobState.COMPLETED
    assert isinstance(pid, int) and pid != os.getpid()
    proc_app.close()


def test_children_run_at_a_lower_cpu_priority(proc_app: Conveyor) -> None:
    from conveyor.worker.isolation import CHILD_NICENESS

    state, _, _, niceness = run(proc_app, "nice")
    assert (state, niceness) == (JobState.COMPLETED, min(19, os.nice(0) + CHILD_NICENESS))
    proc_app.close()


def test_remote_exception_keeps_its_type_and_traceback(proc_app: Conveyor) -> None:
    job_id = enqueue(proc_app, "raise")
    proc_app.drain()
    stored = proc_app.get(job_id)
    assert (stored.state, stored.errors[-1].type) == (JobState.DISCARDED, "KeyError")
    assert "missing sku" in stored.errors[-1].message
    assert "jobs_app.py" in stored.errors[-1].traceback
    proc_app.close()


def test_spinning_job_is_killed_at_its_timeout(proc_app: Conveyor) -> None:
    started = time.monotonic()
    state, kind, message, _ = run(proc_app, "spin")
    assert (state, kind) == (JobState.DISCARDED, "TimeoutError")
    assert message == "job 'isolated' ran past its timeout of 2s and its process was killed"
    assert time.monotonic() - started >= 2.0  # not before its timeout
    state, _, _, _ = run(proc_app, "pid")  # the pool replaced the killed child
    assert state == JobState.COMPLETED
    proc_app.close()


def test_whatever_an_isolated_job_raises_or_returns_ends_its_attempt(
        proc_app: Conveyor) -> None:
    """SystemExit, KeyboardInterrupt, unprintable errors and unstorable results end the
    attempt with a stored outcome; none of them takes the child down."""
    from tests import misbehaviour

    job_type = proc_app.registry.get("isolated_misbehaving")
    actions = sorted(misbehaviour.RAISES) + sorted(misbehaviour.RETURNS)
    rows = [job_type.new_job([action], {}, job_type.defaults) for action in actions]
    jobs = proc_app.blocking.run(lambda: proc_app.insert(rows))
    assert proc_app.drain() == len(actions)
    stored = {action: proc_app.get(job.id) for action, job in zip(actions, jobs, strict=True)}
    assert {job.state for job in stored.values()} == {JobState.DISCARDED}
    for action, make in misbehaviour.RAISES.items():
        assert stored[action].errors[-1].type == type(make()).__name__, action
    for action in misbehaviour.RETURNS:
        assert stored[action].errors[-1].type == "Unserializable", action
    assert stored["str_and_repr_raise"].errors[-1].message == \
        "<StrAndReprRaise whose str() and repr() both raised>"
    assert stored["nul_and_surrogate_message"].errors[-1].message == \
        "bad\\x00byte and a lone \\ud800 surrogate"
    proc_app.close()


def test_control_exceptions_steer_an_isolated_job_as_they_do_in_process(
        proc_app: Conveyor) -> None:
    job_type = proc_app.registry.get("isolated_control")
    actions = ["snooze", "retry", "cancel", "discard", "rate_limited"]
    rows = [job_type.new_job([action], {}, job_type.defaults) for action in actions]
    jobs = dict(zip(actions, proc_app.blocking.run(lambda: proc_app.insert(rows)), strict=True))
    before = proc_app.clock.now()
    proc_app.drain()
    after = proc_app.clock.now()  # the jobs settled in between (seconds on a loaded machine)
    got = {action: proc_app.get(job.id) for action, job in jobs.items()}
    assert {a: (j.state, j.attempt) for a, j in got.items()} == {
        "snooze": (JobState.SCHEDULED, 0), "retry": (JobState.RETRYABLE, 1),
        "cancel": (JobState.CANCELLED, 1), "discard": (JobState.DISCARDED, 1),
        "rate_limited": (JobState.SCHEDULED, 0)}
    assert before + timedelta(seconds=55) <= got["snooze"].run_at <= after + timedelta(seconds=65)
    assert before + timedelta(seconds=25) <= got["retry"].run_at <= after + timedelta(seconds=35)
    assert (got["discard"].errors[-1].type, got["discard"].errors[-1].message) == \
        ("Discard", "no such sku")
    assert got["cancel"].errors[-1].message == "not wanted"
    proc_app.close()


def test_a_crashing_child_fails_the_job_not_the_worker(proc_app: Conveyor) -> None:
    state, kind, message, _ = run(proc_app, "exit")
    assert (state, kind) == (JobState.DISCARDED, "ChildCrashed")
    assert "exit code 3" in message
    assert run(proc_app, "pid")[0] == JobState.COMPLETED
    proc_app.close()


def test_a_job_that_keeps_crashing_is_quarantined(proc_app: Conveyor) -> None:
    job_type = proc_app.registry.get("crashes")
    row = job_type.new_job([], {}, job_type.defaults)
    job_id = proc_app.blocking.run(lambda: proc_app.insert([row]))[0].id
    proc_app.drain()
    stored = proc_app.get(job_id)
    assert (stored.state, stored.attempt, stored.max_attempts) == (JobState.DISCARDED, 3, 10)
    assert [e.type for e in stored.errors] == ["ChildCrashed"] * 3
    assert "quarantined after 3 crashes" in stored.errors[-1].message
    proc_app.close()


def test_children_exit_when_their_worker_is_killed(url: str, tmp_path: object) -> None:
    import signal

    from tests.worker import harness, jobs_app

    app = Conveyor(url, settings=FAST)
    app.registry = jobs_app.app.registry
    enqueue(app, "spin")
    ledger = tmp_path / "ledger.db"  # type: ignore[operator]
    worker = harness.start_worker(url, ledger)
    try:
        harness.wait_for(lambda: _isolated_children(worker.pid), 30, "the isolated child")
        helpers = _isolated_children(worker.pid) + _children_of(worker.pid)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        harness.wait_for(lambda: not any(map(_alive, helpers)), 5,
                         "the orphaned child and the fork server to exit")
    finally:
        if worker.poll() is None:
            worker.kill()
    app.close()


def _isolated_children(worker: int) -> list[int]:
    """Job processes: children of the worker's fork server, or spawned children."""
    forked = [c for server in _children_of(worker, "forkserver") for c in _children_of(server)]
    return forked or _children_of(worker, "spawn_main")


def _children_of(pid: int, pattern: str = "") -> list[int]:
    import subprocess

    out = subprocess.run(["pgrep", "-P", str(pid), *(["-f", pattern] if pattern else [])],
                         capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie no longer runs
        return stat.read().split()[2] != "Z"


_JOBS_MODULE = '''
import os
from conveyor import Conveyor

app = Conveyor(os.environ["CONVEYOR_URL"])


@app.job(name="isojobs.pid", isolation="process", timeout=30)
def pid() -> int:
    return os.getpid()
'''

_UNGUARDED_SCRIPT = '''
import os
from isojobs import app, pid

job = pid.enqueue()
print("drained", app.drain(), flush=True)
stored = app.get(job.id)
print("state", stored.state.value, stored.result != os.getpid(), flush=True)
'''


def _run_script(tmp_path: object, url: str, script: str) -> subprocess.CompletedProcess[str]:
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "isojobs.py").write_text(_JOBS_MODULE)
    (folder / "script.py").write_text(script)
    env = {**os.environ, "CONVEYOR_URL": url, "PYTHONPATH": str(harness.ROOT)}
    return subprocess.run([sys.executable, "script.py"], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=90)


def test_a_script_without_a_main_guard_can_drain_isolated_jobs(url: str,
                                                               tmp_path: object) -> None:
    """Children never run the parent script's top level again: one job, run once."""
    done = _run_script(tmp_path, url, _UNGUARDED_SCRIPT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["drained 1", "state completed True"]
    app = Conveyor(url)
    assert len(app.jobs()) == 1
    app.close()


def test_an_isolated_job_defined_in_a_script_is_refused_at_registration(
        url: str, tmp_path: object) -> None:
    script = '''
import os
from conveyor import Conveyor

app = Conveyor(os.environ["CONVEYOR_URL"])


@app.job(name="in_script", isolation="process", timeout=5)
def in_script() -> None: ...
'''
    done = _run_script(tmp_path, url, script)
    assert done.returncode == 1
    assert "ConfigurationError: job 'in_script': isolation=\"process\" needs the function " \
        "in an importable module" in done.stderr
