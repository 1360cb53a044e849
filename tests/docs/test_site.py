"""The documentation site builds with `mkdocs build --strict`: a broken link, a missing README
section or example embedded by a page, or an API reference to a name that no longer exists
fails the suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_site_builds_without_warnings(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
         "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "NO_COLOR": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    reference = (tmp_path / "site" / "reference" / "app" / "index.html").read_text()
    assert "aenqueue" in reference  # the API reference was rendered from the docstrings
    tutorial = (tmp_path / "site" / "tutorial" / "index.html").read_text()
    assert "send_receipt" in tutorial  # the tutorial's example files were embedded
