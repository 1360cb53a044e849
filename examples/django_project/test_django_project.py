"""The example Django project's own tests, run by Django's test runner on SQLite and on
PostgreSQL (each run creates and destroys its own test database)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

PROJECT = Path(__file__).resolve().parent
ADMIN = os.environ.get("CONVEYOR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def database_url(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    try:
        psycopg.connect(ADMIN, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    params = conninfo_to_dict(ADMIN)
    name = f"conveyor_django_{os.getpid()}_{secrets.token_hex(3)}"
    return (f"postgresql://{params.get('user') or 'postgres'}@{params.get('host') or '127.0.0.1'}"
            f":{params.get('port') or 5432}/{name}")


@pytest.mark.parametrize("backend", ["sqlite",
                                     pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_projects_tests_pass_under_djangos_runner(backend: str, tmp_path: Path) -> None:
    env = {**os.environ, "EXAMPLE_DATABASE_URL": database_url(backend, tmp_path),
           "DJANGO_SETTINGS_MODULE": "shop_site.settings", "PYTHONPATH": str(PROJECT)}
    env.pop("CONVEYOR_URL", None)
    done = subprocess.run([sys.executable, "manage.py", "test", "--noinput", "-v", "2"],
                          cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "Ran 6 tests" in report, report
    assert "\nOK\n" in report, report
