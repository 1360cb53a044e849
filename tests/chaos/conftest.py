"""Chaos tests reuse the worker tests' fixtures (ledger, proc_app) and job app."""

from tests.worker.conftest import ledger, proc_app

__all__ = ["ledger", "proc_app"]
