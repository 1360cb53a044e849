"""Fixtures for tests that run real worker processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor import Conveyor
from tests.conftest import FAST


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    """The side ledger (its own SQLite file) where test jobs record every run."""
    return tmp_path / "ledger.db"


@pytest.fixture
def proc_app(url: str) -> Conveyor:
    """The worker test app's job types on this test's database."""
    from tests.worker import jobs_app

    app = Conveyor(url, settings=FAST)
    app.registry = jobs_app.app.registry
    return app
