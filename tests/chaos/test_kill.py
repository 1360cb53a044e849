"""Scenario 1: SIGKILL a random worker every 2-3 s while thousands of jobs run.

Pass criteria (issue 7): no job lost, duplicates at most kills x concurrency and only for jobs
that were running in a killed process, each orphan started again within lease timeout + 2 s
of the kill, plus the invariants every scenario keeps (`harness.check_invariants`).
"""

from __future__ import annotations

import itertools
import random
import signal
import time
from pathlib import Path

import pytest

from conveyor import JobState
from tests.chaos import chaos_app, harness

pytestmark = pytest.mark.slow
JOBS = 20_000 if harness.SOAK else 3_000
CONCURRENCY = 8
WORKERS = 4


def test_sigkill_a_random_worker_every_few_seconds(url: str, tmp_path: Path) -> None:
    app = harness.make_app(url)
    ledger, log = tmp_path / "ledger.db", tmp_path / "workers.log"
    tokens = harness.enqueue(app, chaos_app.work, (([f"t{i}", 0.1], {}) for i in range(JOBS)))
    tokens |= harness.plant_secret(app)
    rng = random.Random(7)
    supervisor = harness.Supervisor(url, ledger, log, WORKERS, "--concurrency", str(CONCURRENCY))
    started, started_wall = time.monotonic(), time.time()
    try:
        deadline = started + (1800 if harness.SOAK else 180)
        while harness.counts_by_state(app).get(JobState.COMPLETED, 0) < JOBS:
            assert time.monotonic() < deadline, f"not done: {harness.counts_by_state(app)}"
            time.sleep(rng.uniform(2.0, 3.0))
            if harness.counts_by_state(app).get(JobState.COMPLETED, 0) < JOBS:
                supervisor.kill_random(rng)
        elapsed = time.monotonic() - started
    finally:
        exit_codes = supervisor.stop()
    # The last replacement may still be starting up when the final SIGTERM comes (seen on a
    # loaded machine): it dies of it (-15) before its handlers are in place. Every other
    # worker stops cleanly.
    others = [code for index, code in enumerate(exit_codes) if index != supervisor.newest]
    assert others == [0] * len(others), exit_codes
    assert supervisor.newest is None or \
        exit_codes[supervisor.newest] in (0, -signal.SIGTERM), exit_codes
    kills = supervisor.kills
    assert len(kills) >= 3 and supervisor.exit_codes == [-9] * len(kills)
    states = harness.check_invariants(app, url, ledger, tokens, [log])
    assert states == {"completed": JOBS, "discarded": 1}

    runs_of: dict[int, list[harness.Run]] = {}
    for run in harness.runs(ledger):
        if run.job_id is not None:
            runs_of.setdefault(run.job_id, []).append(run)
    assert set(runs_of) <= set(tokens)
    # Every job ran, but for one whose every attempt was claimed by a process killed before
    # the job's first line: only a one-attempt job (the secret carrier) can end so, and then
    # it is discarded with the rescue's error for each attempt, never run.
    never_ran = set(tokens) - set(runs_of)
    for job_id in never_ran:
        job = app.get(job_id)
        assert job is not None and job.state is JobState.DISCARDED, job
        assert job.attempt == job.max_attempts == len(job.errors), job
        assert {error.type for error in job.errors} == {"WorkerLost"}, job.errors
    duplicated = {job_id: rs for job_id, rs in runs_of.items() if len(rs) > 1}
    assert len(duplicated) <= len(kills) * CONCURRENCY
    kill_of = {k.pid: k for k in kills}
    bound = chaos_app.SETTINGS.lease_timeout + 2.0
    delays: list[float] = []
    leader_alive: list[float] = []
    per_kill: dict[int, float] = {}
    """Delays of orphans whose leader was not killed before it could rescue them."""
    burned = 0
    """Attempts claimed by a process killed before the job could write its run: the claim
    counted the attempt, the ledger never saw it (so [1, 3] or [2, 3] may be all it has)."""
    for job_id, attempts in duplicated.items():
        numbers = [r.attempt for r in attempts]
        # the first attempts may be missing too: claimed, then killed before the run began
        assert numbers[0] >= 1 and numbers == sorted(set(numbers)), attempts
        burned += numbers[-1] - len(numbers)
        for run, again in itertools.pairwise(attempts):
            # Repeated only because it was running in a process that was then killed (its
            # run may have ended: the completion was not written yet, settling is batched).
            kill = kill_of.get(run.pid)
            assert kill is not None and run.started < kill.at, (job_id, attempts, kill)
            if again.attempt > run.attempt + 1:
                continue  # the attempt between was killed too: its kill timed the restart
            delays.append(again.started - kill.at)
            per_kill[kill.pid] = max(per_kill.get(kill.pid, 0.0), again.started - kill.at)
            if not kill.leader and not any(k.leader and kill.at < k.at < kill.at + bound
                                           for k in kills):
                leader_alive.append(again.started - kill.at)
    burned += len(never_ran)
    assert burned <= len(kills) * CONCURRENCY, (burned, len(kills))
    leader_kills = sum(k.leader for k in kills)
    print(f"\n[scenario 1 {url.split(':')[0]}] {JOBS} jobs in {elapsed:.1f}s, {WORKERS} workers "
          f"x {CONCURRENCY}, {len(kills)} SIGKILLs ({leader_kills} of the leader), "
          f"{len(duplicated)} jobs ran twice (bound {len(kills) * CONCURRENCY}), {burned} "
          f"attempts claimed by a process killed before they ran, orphan restart "
          f"max {max(delays, default=0):.2f}s, mean {sum(delays) / max(1, len(delays)):.2f}s, "
          f"max while the leader lived {max(leader_alive, default=0):.2f}s (bound {bound:.1f}s)")
    print("kills (offset s, leader, slowest orphan restart s): " + ", ".join(
        f"({k.at - started_wall:.1f}, {'L' if k.leader else '-'}, {per_kill.get(k.pid, 0):.2f})"
        for k in kills))
    assert max(leader_alive, default=0.0) <= bound, (sorted(leader_alive)[-5:], bound)
    # Issue 7 asks this of every orphan, also when the leader itself was killed.
    assert max(delays, default=0.0) <= bound, (sorted(delays)[-5:], bound)
    app.close()

