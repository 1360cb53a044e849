"""`conveyor dashboard`: serve the web dashboard, with the pages installed packages offer for
the app (`conveyor.web.discovery`); `conveyor dashboard hash-password`: make a password hash
for `CONVEYOR_DASHBOARD_USERS`."""

from __future__ import annotations

import click

from conveyor import errors
from conveyor.cli import context


@click.group(invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback needs a configured password.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.pass_context
def dashboard(ctx: click.Context, host: str, port: int) -> None:
    """Serve the web dashboard (users from the CONVEYOR_DASHBOARD_* variables; on loopback
    without any, a one-time admin password is printed), with the pages installed packages
    offer for the app (conveyor.web_pages entry points), e.g. the commerce kit's."""
    if ctx.invoked_subcommand is not None:
        return
    from conveyor import web

    obj: context.CliContext = ctx.obj
    with context.failing_cleanly(obj) as app:
        try:
            web.serve(app, host=host, port=port)
        except errors.ConfigurationError as exc:
            raise click.ClickException(str(exc)) from None


@dashboard.command("hash-password")
@click.password_option(prompt="Password", help="Read from a prompt when not given.")
def hash_password(password: str) -> None:
    """Print the scrypt hash of a password, for CONVEYOR_DASHBOARD_USERS=name:role:hash."""
    from conveyor.web import passwords

    try:
        click.echo(passwords.hash_password(password))
    except errors.ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
