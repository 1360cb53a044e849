"""The documentation site builds with `mkdocs build --strict`: a broken link, a missing README
section or example embedded by a page, or an API reference to a name that no longer exists
fails the suite."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conveyor import Conveyor

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


DOCS = ROOT / "docs"
_PYTHON = re.compile(r"^( *)```python\n(.*?)^\1```", re.MULTILINE | re.DOTALL)


def python_blocks(page: Path) -> list[str]:
    """The page's own Python blocks (embedded files are tested where they live)."""
    return [textwrap.dedent(match[2]) for match in _PYTHON.finditer(page.read_text())
            if "--8<--" not in match[2]]


def test_every_python_block_of_the_site_compiles() -> None:
    pages = sorted(DOCS.rglob("*.md"))
    count = 0
    for page in pages:
        for code in python_blocks(page):
            compile(code, str(page), "exec")
            count += 1
    assert count >= 3


def test_the_observability_guides_hook_example_runs(tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    (block,) = [code for code in python_blocks(DOCS / "guides" / "observability.md")
                if "app.hooks.attempt.append" in code]
    app = Conveyor(f"sqlite:///{tmp_path / 'jobs.db'}")
    ping = app.job(name="ping")(lambda: None)
    exec(block, {"app": app})
    ping.enqueue()
    with caplog.at_level(logging.INFO, logger="timing"):
        assert app.drain() == 1
    app.close()
    (record,) = [r for r in caplog.records if r.name == "timing"]
    assert record.getMessage().startswith("ping completed in ")
