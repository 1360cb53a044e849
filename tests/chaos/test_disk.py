"""Scenario 5: the SQLite file's disk fills up, then turns read-only, under a running worker.

The database lives on a small tmpfs of its own (a real ENOSPC, seen by every process,
unlike the per-connection `PRAGMA max_page_count`), then is seen through a read-only mount.
Enqueue fails with a clear `StorageUnavailable` and writes no partial row; the worker survives
and catches up when space returns. Needs root to mount (skipped otherwise).
"""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor import StorageUnavailable
from tests.chaos import chaos_app, harness
from tests.conftest import raw

pytestmark = pytest.mark.slow


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "fs"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path) -> Path:
    """Write a file until the disk is full (unbuffered: nothing is left to flush on close)."""
    filler = disk / "filler"
    failure = 0
    with filler.open("wb", buffering=0) as out:
        while not failure:
            try:
                out.write(b"\0" * 65536)
            except OSError as exc:
                failure = exc.errno or -1
    assert failure == errno.ENOSPC
    return filler


def _count(url: str) -> int:
    return int(raw(url, "SELECT count(*) FROM conveyor_jobs")[0][0])


def test_disk_full_and_read_only(small_disk: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{small_disk / 'jobs.db'}"
    app = harness.make_app(url)
    ledger, log = tmp_path / "ledger.db", tmp_path / "workers.log"
    tokens = harness.enqueue(app, chaos_app.work, (([f"a{i}", 0.01], {}) for i in range(200)))
    tokens |= harness.plant_secret(app)
    supervisor = harness.Supervisor(url, ledger, log, 1, "--concurrency", "8")
    bulky = [([f"b{i}", 0.0], {}) for i in range(2000)]
    try:
        harness.wait_all_final(app, len(tokens), 60, "the first jobs")
        filler = _fill(small_disk)
        before = _count(url)
        with pytest.raises(StorageUnavailable) as full:
            harness.enqueue(app, chaos_app.work,
                            [([f"{'x' * 2000}{i}", 0.0], {}) for i in range(3000)])
        assert "full" in str(full.value), full.value
        assert _count(url) == before  # no partial insert
        assert supervisor.alive()
        filler.unlink()
        tokens |= harness.enqueue(app, chaos_app.work, bulky[:1000])
        harness.wait_all_final(app, len(tokens), 60, "jobs after space returned")

        # Read-only: the same file seen through a read-only bind mount (a filesystem with
        # files open for writing cannot be remounted read-only under the worker).
        view = tmp_path / "ro"
        view.mkdir()
        subprocess.run(["mount", "--bind", str(small_disk), str(view)], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], check=True)
            reader = harness.make_app(f"sqlite:///{view / 'jobs.db'}")
            before = _count(url)
            with pytest.raises(StorageUnavailable) as read_only:
                harness.enqueue(reader, chaos_app.work, bulky[1000:])
            reader.close()
            assert _count(url) == before
            assert supervisor.alive()
        finally:
            subprocess.run(["umount", "-l", str(view)], check=False)
        tokens |= harness.enqueue(app, chaos_app.work, bulky[1000:])
        harness.wait_all_final(app, len(tokens), 60, "jobs after write access returned")
        assert supervisor.alive()
    finally:
        exit_codes = supervisor.stop()
    assert exit_codes == [0]
    states = harness.check_invariants(app, url, ledger, tokens, [log])
    assert states == {"completed": len(tokens) - 1, "discarded": 1}
    text = log.read_text()
    print(f"\n[scenario 5 sqlite] disk full: {type(full.value).__name__}: {full.value}; "
          f"read-only: {read_only.value}; no partial rows; the worker survived and ran "
          f"{states['completed']} jobs; worker log warnings while broken: "
          f"{text.count('WARNING')}; integrity_check ok")
    app.close()
