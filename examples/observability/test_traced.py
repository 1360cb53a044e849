"""docs/guides/observability.md's example runs: a request span, the enqueue span inside it,
the job's run span and the span its code made, one trace, each the child of the one before."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent


def _objects(text: str) -> list[dict[str, Any]]:
    """The JSON objects the console exporters printed one after another."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (at := text.find("{", at)) >= 0:
        value, at = decoder.raw_decode(text, at)
        found.append(value)
    return found


@pytest.mark.slow
def test_the_observability_example_traces_a_request_through_its_job(tmp_path: Path) -> None:
    shutil.copy(HERE / "traced.py", tmp_path / "traced.py")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "CONVEYOR_"))}
    done = subprocess.run([sys.executable, "traced.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    printed = _objects(done.stdout)
    spans = {o["name"]: o for o in printed if "context" in o}
    chain = ["POST /orders", "enqueue send_receipt", "run send_receipt", "render receipt"]
    assert set(chain) <= set(spans), sorted(spans)
    for parent, child in itertools.pairwise(chain):
        assert spans[child]["parent_id"] == spans[parent]["context"]["span_id"], child
        assert spans[child]["context"]["trace_id"] == spans[chain[0]]["context"]["trace_id"]
    assert spans["run send_receipt"]["attributes"]["conveyor.job.outcome"] == "completed"
    assert spans["run send_receipt"]["resource"]["attributes"]["service.name"] == "shop"
    names = {m["name"] for o in printed for r in o.get("resource_metrics", [])
             for s in r["scope_metrics"] for m in s["metrics"]}
    assert {"conveyor.jobs.enqueued", "conveyor.job.attempts", "conveyor.job.duration",
            "conveyor.queue.depth"} <= names
