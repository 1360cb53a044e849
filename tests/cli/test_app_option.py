"""`--app` and `--url`: clear messages for a wrong `--app`, and `--url` on the command line
replacing the app's own database (never silently ignored)."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from conveyor.cli.main import cli
from tests.cli.harness import run_plain


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An importable module `wk_<random>` whose `app` uses tmp_path/own.db."""
    name = f"wk_{secrets.token_hex(4)}"
    own = f"sqlite:///{tmp_path / 'own.db'}"
    (tmp_path / f"{name}.py").write_text(
        "from conveyor import Conveyor\n"
        f"app = Conveyor({own!r})\n"
        "@app.job()\n"
        "def work() -> None: ...\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_a_missing_attribute_is_named(module: str) -> None:
    result = run_plain("--app", f"{module}:nope", "stats")
    assert result.exit_code == 2
    assert f"module '{module}' has no attribute 'nope'" in result.output
    job = run_plain("--app", f"{module}:work", "stats")
    assert job.exit_code == 2
    assert f"'{module}:work' is a JobType, not a Conveyor application" in job.output


def test_url_on_the_command_line_replaces_the_apps_own(module: str, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    result = run_plain("--app", f"{module}:app", "--url", f"sqlite:///{other}", "migrate")
    assert result.exit_code == 0, result.output
    assert str(other) in result.output
    assert other.exists() and not (tmp_path / "own.db").exists()
    bad = run_plain("--app", f"{module}:app", "--url", "mysql://x/y", "stats")
    assert bad.exit_code == 2 and "unknown scheme 'mysql'" in bad.output


def test_conveyor_url_in_the_environment_does_not_replace_an_apps_url(
        module: str, tmp_path: Path) -> None:
    env_db = tmp_path / "env.db"
    result = CliRunner(env={"CONVEYOR_URL": f"sqlite:///{env_db}"}).invoke(
        cli, ["--app", f"{module}:app", "migrate"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "own.db").exists() and not env_db.exists()
