"""`conveyor commerce ...`: the kit's command group, added to `conveyor` through the
`conveyor.cli_plugins` entry point."""

from __future__ import annotations

import click

from conveyor_commerce.cli.accounts import accounts, key
from conveyor_commerce.cli.messages import messages
from conveyor_commerce.cli.serve import sandbox, webhook


@click.group()
def commerce() -> None:
    """Commerce kit: WhatsApp accounts, scheduled messages, webhook, sandbox."""


for command in (accounts, messages, sandbox, webhook, key):
    commerce.add_command(command)

__all__ = ["commerce"]
