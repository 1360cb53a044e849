"""Administrative commands: schema migrations."""

from __future__ import annotations

import click

from conveyor import errors, redact
from conveyor.cli import context


@click.command()
@click.pass_obj
def migrate(obj: context.CliContext) -> None:
    """Create or upgrade Conveyor's tables."""
    app = obj.app()
    try:
        applied = app.migrate()
    except errors.ConveyorError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        app.close()
    if applied:
        click.echo(f"applied migrations {', '.join(map(str, applied))} to {redact.url(app.url)}")
    else:
        click.echo(f"{redact.url(app.url)} is up to date")

