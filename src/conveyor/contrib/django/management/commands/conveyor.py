"""`manage.py conveyor ...`: every `conveyor` command, with this project's application.

    python manage.py conveyor worker --processes 2
    python manage.py conveyor jobs list --state discarded
    python manage.py conveyor check

The arguments go to the `conveyor` command line untouched (its `--help`, its exit codes).
`worker --processes N` starts its children as `python -m conveyor --app
conveyor.contrib.django.standalone:app ...`, with this project's settings module and
directory passed on in the environment.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import click
from django.core.management.base import BaseCommand, CommandError, CommandParser

from conveyor.cli import context
from conveyor.cli.main import cli

SPEC = "conveyor.contrib.django.standalone:app"


class Command(BaseCommand):
    help = "Conveyor's command line with this project's jobs (manage.py conveyor --help)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("args", nargs=argparse.REMAINDER, help="conveyor arguments")

    def run_from_argv(self, argv: list[str]) -> None:
        """Hand everything after `conveyor` to the conveyor CLI, which exits itself."""
        rest = argv[2:]
        _pass_on_the_project(argv[0])
        sys.argv = ["conveyor", "--app", SPEC, *rest]  # what supervised workers re-run
        cli.main(args=["--app", SPEC, *rest], prog_name=f"{os.path.basename(argv[0])} conveyor")

    def handle(self, *args: Any, **options: Any) -> None:
        """`call_command("conveyor", "jobs", "list")`: runs in this process; a failure
        becomes a `CommandError` with the command's exit status."""
        obj = context.CliContext(app_spec=SPEC, url=None)
        try:
            cli.main(args=list(args), prog_name="conveyor", obj=obj, standalone_mode=False)
        except click.ClickException as exc:
            raise CommandError(exc.format_message(), returncode=exc.exit_code) from None
        except click.exceptions.Exit as exc:
            if exc.exit_code:
                raise CommandError(f"exit status {exc.exit_code}",
                                   returncode=exc.exit_code) from None
        except SystemExit as exc:
            if exc.code:
                raise CommandError(f"exit status {exc.code}", returncode=int(exc.code)) from None


def _pass_on_the_project(manage_py: str) -> None:
    """Child processes import the settings module from the project's directory."""
    directory = os.path.dirname(os.path.abspath(manage_py))
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if directory not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([directory, *paths])
