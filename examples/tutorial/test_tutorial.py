"""The tutorial (docs/tutorial.md) as a reader follows it: its files copied into an empty
directory, `python enqueue.py`, a real `conveyor worker`, then `conveyor jobs list` and
`conveyor failed` - the outcomes the page describes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _run(cwd: Path, *command: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    env.pop("CONVEYOR_URL", None)
    done = subprocess.run(list(command), cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.slow
def test_the_tutorial_runs_as_written(tmp_path: Path) -> None:
    for name in ("shop_jobs.py", "enqueue.py"):
        shutil.copy(HERE / name, tmp_path / name)
    conveyor = [sys.executable, "-m", "conveyor", "--app", "shop_jobs:app"]

    printed = _run(tmp_path, sys.executable, "enqueue.py")
    assert printed == "enqueued job 1: shop_jobs.send_receipt in queue mail, available\n"
    worked = _run(tmp_path, *conveyor, "worker", "--max-time", "4")
    assert "receipt for order 1001 sent to ann@example.com" in worked
    assert "follow-up sent to ann@example.com" in worked
    assert "order 1002 charged 49.99" in worked

    jobs = {job["id"]: job for job in json.loads(_run(tmp_path, *conveyor, "jobs", "list",
                                                      "--json"))}
    assert {i: (j["name"].split(".")[-1], j["state"], j["attempt"]) for i, j in jobs.items()} == {
        1: ("send_receipt", "completed", 1), 2: ("send_follow_up", "completed", 1),
        3: ("charge_card", "completed", 2), 4: ("charge_card", "discarded", 3)}
    assert "needs a manual check" in _run(tmp_path, *conveyor, "failed")
    assert "1" in _run(tmp_path, *conveyor, "retry", "--all-failed", "--dry-run")
