"""Scenario 2: SIGTERM during work.

Short jobs running at the signal finish; long ones are handed back as `available` within the
grace period (their attempt refunded); no run starts after the signal; exit code 0. Then the
long jobs are cancelled by an operator and fresh workers finish the rest.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest

from conveyor import JobState
from tests.chaos import chaos_app, harness

pytestmark = pytest.mark.slow
SHORT = 3_000 if harness.SOAK else 400
LONG = 4
GRACE = 2.0


def _handled_at(log: Path) -> dict[int, float]:
    """When each worker's signal handler ran, from its log line (millisecond resolution)."""
    out = {}
    for line in log.read_text().splitlines():
        if "SIGTERM: stop claiming" in line:
            stamp, pid = line[:23], int(line.split("[", 1)[1].split("]", 1)[0])
            local = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f")
            out.setdefault(pid, local.timestamp())  # logging writes local time
    return out


def test_sigterm_finishes_short_jobs_and_hands_back_long_ones(url: str, tmp_path: Path) -> None:
    app = harness.make_app(url)
    ledger, log = tmp_path / "ledger.db", tmp_path / "workers.log"
    longs = harness.enqueue(app, chaos_app.nap, (([f"long{i}", 120.0], {}) for i in range(LONG)))
    shorts = harness.enqueue(app, chaos_app.work, (([f"s{i}", 0.3], {}) for i in range(SHORT)))
    tokens = longs | shorts | harness.plant_secret(app)
    supervisor = harness.Supervisor(url, ledger, log, 2, "--concurrency", "8",
                                    "--grace", str(GRACE))
    try:
        harness.wait_for(lambda: sum(r.outcome == "ok" for r in harness.runs(ledger)) >= 40
                         and {r.token for r in harness.runs(ledger)} >= set(longs.values()),
                         60, "long jobs running and short ones flowing")
        signalled = time.time()
        exit_codes = supervisor.stop(timeout=GRACE + 30)
        took = time.time() - signalled
    finally:
        supervisor.stop()
    assert exit_codes == [0, 0]
    # The grace was waited for the long jobs, which were handed back long before their end.
    assert GRACE <= took < 120.0, took
    by_pid = {s.pid: s.at for s in supervisor.signals}
    runs = harness.runs(ledger)
    # A run may begin just after the signal only if its claim was made before it (the job was
    # already handed to the thread pool); nothing is claimed after the signal.
    late = [r for r in runs if r.started > by_pid[r.pid]]
    handled = _handled_at(log)
    claimed_late = [r for r in late if r.job_id is None or  # claimed after the handler ran
                    app.get(r.job_id).attempted_at.timestamp()  # type: ignore[union-attr]
                    > handled[r.pid] + 0.001]
    assert claimed_late == [], [(r, r.started - by_pid[r.pid]) for r in claimed_late[:5]]
    open_at_signal = [r for r in runs if r.token.startswith("s") and r.started <= by_pid[r.pid]
                      and (r.ended is None or r.ended > by_pid[r.pid])]
    assert all(r.outcome == "ok" for r in open_at_signal), open_at_signal  # short: finished
    for job_id in longs:
        job = app.get(job_id)
        assert (job.state, job.attempt) == (JobState.AVAILABLE, 0), job
        assert job.errors[-1].message == "interrupted by shutdown"
    assert [r.outcome for r in runs if r.token.startswith("long")] == ["interrupted"] * LONG
    assert harness.counts_by_state(app).get(JobState.RUNNING, 0) == 0
    done_before = sum(r.outcome == "ok" for r in runs)

    # The operator cancels the long jobs; fresh workers finish the rest.
    from tests.chaos.test_security import run as cli

    cancelled = cli(app, "cancel", "--name", "nap")
    assert cancelled.exit_code == 0, cancelled.output
    again = harness.Supervisor(url, ledger, log, 2, "--concurrency", "8")
    try:
        harness.wait_all_final(app, len(tokens), 120)
    finally:
        assert again.stop() == [0, 0]
    states = harness.check_invariants(app, url, ledger, tokens, [log])
    assert states == {"completed": SHORT, "cancelled": LONG, "discarded": 1}
    print(f"\n[scenario 2 {url.split(':')[0]}] SIGTERM with {len(open_at_signal)} short and "
          f"{LONG} long jobs running: exit 0 after {took:.2f}s (grace {GRACE:g}s), short ones "
          f"finished, long ones available again (attempt refunded), claims after the signal: "
          f"{len(claimed_late)} (runs of earlier claims beginning after it: {len(late)}); "
          f"{done_before} of {SHORT} done before the stop, the rest after restart")
    app.close()
