"""Running the CLI in-process against an app under test, as a pipe would see it."""

from __future__ import annotations

from click.testing import CliRunner, Result

from conveyor import Conveyor
from conveyor.cli import context
from conveyor.cli.main import cli


def run(app: Conveyor, *args: str, columns: int = 200) -> Result:
    """`conveyor ARGS` with `app` as the application; stdout is not a terminal."""
    obj = context.CliContext(app_spec=None, url=None, _app=app)
    return CliRunner(env={"COLUMNS": str(columns)}).invoke(cli, list(args), obj=obj,
                                                         catch_exceptions=False)


def run_plain(*args: str) -> Result:
    """`conveyor ARGS` as typed, with no app handed in (for --app, --url and start-up)."""
    return CliRunner().invoke(cli, list(args))
