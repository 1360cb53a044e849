"""Pages found through the `conveyor.web_pages` entry points: a package installed on the path
(a real distribution directory, read by importlib.metadata) offers pages for the app being
served; one that fails to load, or answers with something else than pages, is skipped with a
warning and the others still show."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from conveyor import Conveyor
from conveyor.web import discover_pages

ENTRY_POINTS = """\
[conveyor.web_pages]
broken = conveyor_no_such_module:pages
fine = fine_pages:pages
odd = odd_pages:pages
"""
FINE = """\
from conveyor import Conveyor
from conveyor.web import Page

def pages(app):
    if not isinstance(app, Conveyor):
        raise TypeError("offered pages for something else than the app")
    return [Page("fine", "Fine", [])]
"""
ODD = "def pages(app):\n    return ['not a page']\n"


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three packages with dashboard pages, installed on the path."""
    info = tmp_path / "conveyor_test_pages-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: conveyor-test-pages\n"
                                   "Version: 1.0\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    (tmp_path / "fine_pages.py").write_text(FINE)
    (tmp_path / "odd_pages.py").write_text(ODD)
    monkeypatch.syspath_prepend(str(tmp_path))


def test_installed_pages_are_found_for_the_app_and_broken_ones_skipped(
        installed: None, app: Conveyor, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="conveyor.web")
    found = discover_pages(app)
    assert [page.label for page in found if page.slug == "fine"] == ["Fine"]
    assert not any(page.slug in ("broken", "odd") for page in found)
    warned = " ".join(record.getMessage() for record in caplog.records)
    assert "dashboard pages 'broken' not loaded" in warned
    assert "dashboard pages 'odd' not loaded" in warned and "not a page" in warned
