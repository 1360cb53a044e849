"""`conveyor commerce accounts add|list|update|rotate-token|resume` and `conveyor commerce key`.

Tokens are read from a hidden prompt or standard input (`--token-stdin`), never from the
command line (which `ps` shows to every user), and never printed."""

from __future__ import annotations

import sys

import click

from conveyor_commerce.cli import common
from conveyor_commerce.vault import Secret, generate_key
from conveyor_commerce.whatsapp.accounts import DEFAULT_VERSION, GRAPH_URL, Account


@click.group()
def accounts() -> None:
    """WhatsApp accounts (sending numbers)."""


def _read_token(from_stdin: bool) -> Secret:
    if from_stdin:
        return Secret(sys.stdin.readline().strip())
    return Secret(str(click.prompt("Access token", hide_input=True)).strip())


@accounts.command("add")
@click.argument("name")
@click.option("--phone-number-id", required=True, help="Meta's id of the sending number.")
@click.option("--display-number", default="")
@click.option("--api-version", default=DEFAULT_VERSION, show_default=True)
@click.option("--base-url", default=GRAPH_URL, show_default=True,
              help="The sandbox's URL in tests and demos.")
@click.option("--throughput", default=80, show_default=True, type=int, help="Messages/s.")
@click.option("--send-rate", default=1.0, show_default=True, type=float,
              help="Messages/s for scheduled messages (at most the throughput).")
@click.option("--token-stdin", is_flag=True, help="Read the token from standard input.")
@click.pass_context
def add(ctx: click.Context, name: str, phone_number_id: str, display_number: str,
        api_version: str, base_url: str, throughput: int, send_rate: float,
        token_stdin: bool) -> None:
    """Add an account; the token is asked for (hidden) or read from stdin."""
    token = _read_token(token_stdin)
    with common.kit(ctx) as kit:
        account = kit.accounts.add(name, phone_number_id, token, display_number=display_number,
                                   api_version=api_version, base_url=base_url,
                                   throughput=throughput, send_rate=send_rate)
    click.echo(f"account {account.id} ({account.name}) added; token "
               f"{'encrypted' if account.token_encrypted else 'stored UNENCRYPTED'}")


@accounts.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_accounts(ctx: click.Context, as_json: bool) -> None:
    """Accounts with their status (never their tokens)."""
    with common.kit(ctx) as kit:
        found = kit.accounts.list()
    if as_json:
        common.emit_json([_public(a) for a in found])
        return
    common.table("WhatsApp accounts", ["id", "name", "phone_number_id", "version", "rate/s",
                                       "throughput", "status", "why stopped", "token"],
                 [[a.id, a.name, a.phone_number_id, a.api_version, f"{a.send_rate:g}",
                   a.throughput, a.status,
                   f"(#{a.stop_code}) {a.stop_reason}" if a.status == "stopped" else "",
                   "encrypted" if a.token_encrypted else "plain"] for a in found])


@accounts.command("update")
@click.argument("account")
@click.option("--send-rate", type=float)
@click.option("--throughput", type=int)
@click.option("--base-url")
@click.option("--api-version")
@click.pass_context
def update(ctx: click.Context, account: str, send_rate: float | None, throughput: int | None,
           base_url: str | None, api_version: str | None) -> None:
    """Change an account's settings."""
    fields = {k: v for k, v in (("send_rate", send_rate), ("throughput", throughput),
                                ("base_url", base_url), ("api_version", api_version))
              if v is not None}
    with common.kit(ctx) as kit:
        changed = kit.accounts.update(_key(account), **fields)
    click.echo(f"account {changed.id} ({changed.name}) updated")


@accounts.command("rotate-token")
@click.argument("account")
@click.option("--token-stdin", is_flag=True, help="Read the token from standard input.")
@click.pass_context
def rotate_token(ctx: click.Context, account: str, token_stdin: bool) -> None:
    """Store a new token; a stopped account resumes."""
    token = _read_token(token_stdin)
    with common.kit(ctx) as kit:
        changed = kit.accounts.rotate_token(_key(account), token)
    click.echo(f"account {changed.id} ({changed.name}): token rotated, {changed.status}")


@accounts.command("resume")
@click.argument("account")
@click.pass_context
def resume(ctx: click.Context, account: str) -> None:
    """Reactivate a stopped account (after fixing what stopped it)."""
    with common.kit(ctx) as kit:
        changed = kit.accounts.resume(_key(account))
    click.echo(f"account {changed.id} ({changed.name}): {changed.status}")


@click.command("key")
def key() -> None:
    """Print a new encryption key for $CONVEYOR_COMMERCE_KEY."""
    click.echo(generate_key())


def _key(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def _public(account: Account) -> dict[str, object]:
    return {"id": account.id, "name": account.name, "phone_number_id": account.phone_number_id,
            "display_number": account.display_number, "api_version": account.api_version,
            "base_url": account.base_url, "throughput": account.throughput,
            "send_rate": account.send_rate, "status": account.status,
            "stop_code": account.stop_code, "stop_reason": account.stop_reason,
            "token_encrypted": account.token_encrypted}
