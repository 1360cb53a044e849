"""`conveyor commerce ...`: the kit's command group, added to `conveyor` through the
`conveyor.cli_plugins` entry point. Its subcommands are imported when one is used, so other
`conveyor` commands (and worker start-up) do not pay for the kit's imports."""

from __future__ import annotations

import importlib

import click

SUBCOMMANDS = {
    "accounts": ("conveyor_commerce.cli.accounts", "accounts",
                 "WhatsApp accounts (sending numbers)."),
    "campaigns": ("conveyor_commerce.cli.campaigns", "campaigns",
                  "Broadcast campaigns: one message to a recipient list."),
    "carts": ("conveyor_commerce.cli.carts", "carts", "Shopping carts: statistics and listings."),
    "key": ("conveyor_commerce.cli.accounts", "key",
            "Print a new encryption key for $CONVEYOR_COMMERCE_KEY."),
    "messages": ("conveyor_commerce.cli.messages", "messages", "Scheduled WhatsApp messages."),
    "shops": ("conveyor_commerce.cli.catalog", "shops", "PrestaShop shops for catalog sync."),
    "sync": ("conveyor_commerce.cli.catalog", "sync",
             "Catalog sync to PrestaShop: product, category, stock, all, status, log."),
    "sandbox": ("conveyor_commerce.cli.serve", "sandbox",
                "Local stand-ins for the APIs the kit speaks."),
    "webhook": ("conveyor_commerce.cli.serve", "webhook", "Serve the delivery-status webhook."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = SUBCOMMANDS.get(cmd_name)
        if found is None:
            return None
        command = getattr(importlib.import_module(found[0]), found[1])
        if not isinstance(command, click.Command):
            raise TypeError(f"{found[0]}.{found[1]} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, SUBCOMMANDS[name][2]) for name in sorted(SUBCOMMANDS)])


@click.group(cls=LazyGroup)
def commerce() -> None:
    """Commerce kit: WhatsApp accounts, scheduled messages, campaigns, carts, webhook,
    PrestaShop catalog sync, sandboxes."""


__all__ = ["commerce"]
