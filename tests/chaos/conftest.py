"""Chaos tests reuse the worker tests' fixtures (ledger, proc_app) and job app."""

import os

import pytest

from tests.worker.conftest import ledger, proc_app


@pytest.fixture(scope="session", autouse=True)
def _disk_written_back() -> None:
    """Flush dirty pages left by earlier work (an install, other tests) once, so they are not
    written back in the middle of a scenario's timed phase."""
    os.sync()

__all__ = ["ledger", "proc_app"]
