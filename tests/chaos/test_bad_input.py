"""Scenario 7: bad input at enqueue, and malformed rows already in the database.

Enqueue refuses bad calls with a clear error and writes nothing (not even the good calls of the
same batch). Rows written by hand with raw SQL - JSON of the wrong shape, undecodable text,
an unknown job name, arguments that do not fit the function - end `discarded` with the
reason while a worker keeps running the good jobs around them; none is dropped.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pytest

from conveyor import ConveyorError, InvalidArguments, PayloadTooLarge, Unserializable
from tests.chaos import chaos_app, harness
from tests.conftest import raw

pytestmark = pytest.mark.slow
GOOD = 2_000 if harness.SOAK else 200
BAD_CALLS: list[tuple[tuple[Any, ...], dict[str, Any], type[ConveyorError], str]] = [
    (("t", {1, 2}), {}, Unserializable, "[1] is a set"),
    (("t", math.nan), {}, Unserializable, "NaN"),
    (("t", 0.0), {"surprise": 1}, InvalidArguments, "surprise"),
    ((), {}, InvalidArguments, "token"),
    (("x" * (2 * 1024 * 1024),), {}, PayloadTooLarge, "over the limit of 1048576 bytes"),
    ((b"bytes",), {}, Unserializable, "bytes"),
]


def _bad_rows(url: str) -> dict[str, str]:
    """Insert malformed rows by hand; {token (in the name): the reason expected}."""
    rows = [  # name, args, kwargs, meta, reason
        ("work", '{"token": "obj"}', "{}", "{}", "args must be a JSON array"),
        ("work", '["kw"]', "[1, 2]", "{}", "args must be a JSON array"),
        ("work", "[]", "{}", "{}", "missing 1 required positional argument"),
        ("no.such.job", '["x"]', "{}", "{}", "no job named 'no.such.job'"),
        ("work", '["m"]', "{}", '"meta"', "args must be a JSON array"),
    ]
    if url.startswith("sqlite"):
        rows.append(("work", "not json at all", "{}", "{}", "undecodable arguments"))
        now = int(time.time() * 1e6)
        sql = ("INSERT INTO conveyor_jobs (name, queue, state, args, kwargs, meta, max_attempts, "
               "run_at, inserted_at) VALUES (?, 'default', 'available', ?, ?, ?, 1, ?, ?)")
    else:
        now = None  # type: ignore[assignment]
        sql = ("INSERT INTO conveyor_jobs (name, queue, state, args, kwargs, meta, max_attempts, "
               "run_at, inserted_at) VALUES (?, 'default', 'available', ?::jsonb, ?::jsonb, "
               "?::jsonb, 1, now(), now()) RETURNING id")
    expected = {}
    for name, args, kwargs, meta, reason in rows:
        params = (name, args, kwargs, meta) + ((now, now) if now is not None else ())
        raw(url, sql, params)
        job_id = raw(url, "SELECT max(id) FROM conveyor_jobs")[0][0]
        expected[job_id] = reason
    return expected


def test_bad_input_is_refused_and_bad_rows_are_discarded(url: str, tmp_path: Path) -> None:
    app = harness.make_app(url)
    app.migrate()
    refused = []
    for args, kwargs, error, words in BAD_CALLS:
        with pytest.raises(error) as caught:
            harness.enqueue(app, chaos_app.work, [(["good", 0.0], {}), (args, kwargs)])
        assert words in str(caught.value) and "'work'" in str(caught.value), caught.value
        refused.append(type(caught.value).__name__)
    assert raw(url, "SELECT count(*) FROM conveyor_jobs") == [(0,)]  # nothing, not even "good"

    ledger, log = tmp_path / "ledger.db", tmp_path / "workers.log"
    tokens = harness.enqueue(app, chaos_app.work, (([f"g{i}", 0.01], {}) for i in range(GOOD // 2)))
    bad = _bad_rows(url)
    tokens |= harness.enqueue(app, chaos_app.work,
                              (([f"h{i}", 0.01], {}) for i in range(GOOD // 2)))
    tokens |= harness.plant_secret(app)
    tokens |= {job_id: f"bad{job_id}" for job_id in bad}
    supervisor = harness.Supervisor(url, ledger, log, 1, "--concurrency", "8")
    try:
        harness.wait_all_final(app, len(tokens), 120)
        assert supervisor.alive()
    finally:
        assert supervisor.stop() == [0]
    states = harness.check_invariants(app, url, ledger, tokens, [log])
    assert states == {"completed": GOOD, "discarded": len(bad) + 1}
    reasons = {}
    for job_id, reason in bad.items():
        job = app.get(job_id)
        message = f"{job.errors[-1].type}: {job.errors[-1].message}" if job.errors else ""
        reasons[job_id] = message
        assert reason in message, (job_id, reason, job.errors)
    assert "Traceback" not in log.read_text()
    print(f"\n[scenario 7 {url.split(':')[0]}] refused at enqueue (nothing written): "
          f"{', '.join(refused)}; {len(bad)} malformed rows discarded with reasons "
          f"{sorted({m.split(':')[0] for m in reasons.values()})}; {GOOD} good jobs completed "
          "around them; the worker kept running")
    app.close()
