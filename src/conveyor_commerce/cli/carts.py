"""`conveyor commerce carts stats|list`: what became of the shop's carts over a period, and the
carts themselves with filters (the dashboard's Carts page shows the same)."""

from __future__ import annotations

from datetime import timedelta

import click

from conveyor_commerce.carts.model import CartFilter, CartStats, CartStatus
from conveyor_commerce.cli import common

STATUSES = click.Choice([s.value for s in CartStatus])


@click.group()
def carts() -> None:
    """Shopping carts: statistics and listings."""


@carts.command("stats")
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 3650),
              help="Carts created in the last N days (unless --since is given).")
@click.option("--since", help="Created at or after this ISO time (UTC unless it has an offset).")
@click.option("--until", help="Created before this ISO time (default: now).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def stats(ctx: click.Context, days: int, since: str | None, until: str | None,
          as_json: bool) -> None:
    """Active, abandoned, reminded, recovered and expired carts, and the recovery rate."""
    with common.kit(ctx) as kit:
        end = common.moment(until, "--until")
        start = common.moment(since, "--since") or (end or kit.now()) - timedelta(days=days)
        found = kit.carts.stats(start, end)
    if as_json:
        common.emit_json(found.as_dict())
        return
    common.table(f"carts created {found.since:%Y-%m-%d %H:%M} - {found.until:%Y-%m-%d %H:%M} "
                 "UTC",
                 ["total", "active", "abandoned", "reminded", "recovered", "ordered",
                  "expired", "recovery rate"], [_row(found)])


def _row(found: CartStats) -> list[object]:
    rate = found.recovery_rate
    return [found.total, found.active, found.abandoned, found.reminded, found.recovered,
            found.ordered, found.expired, "-" if rate is None else f"{rate:.1%}"]


@carts.command("list")
@click.option("--status", "statuses", multiple=True, type=STATUSES, help="Repeatable.")
@click.option("--phone", help="Digits of the customer's number.")
@click.option("--account", help="Account name or id.")
@click.option("--since", help="Created at or after this ISO time.")
@click.option("--until", help="Created before this ISO time.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--before-id", type=int, help="Page: only ids below this one.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_carts(ctx: click.Context, statuses: tuple[str, ...], phone: str | None,
               account: str | None, since: str | None, until: str | None, limit: int,
               before_id: int | None, as_json: bool) -> None:
    """List carts, newest first."""
    with common.kit(ctx) as kit:
        account_id = None
        if account is not None:
            account_id = kit.accounts.get(int(account) if account.isdigit() else account).id
        where = CartFilter(statuses=[CartStatus(s) for s in statuses],
                           phone="".join(c for c in phone if c.isdigit()) if phone else None,
                           created_after=common.moment(since, "--since"),
                           created_before=common.moment(until, "--until"), account_id=account_id)
        found = kit.carts.list(where, limit=limit, before_id=before_id)
    if as_json:
        common.emit_json([cart.as_dict() for cart in found])
        return
    common.table("carts", ["id", "account", "customer", "status", "items", "total",
                           "updated_at", "reminder sent", "order"],
                 [[c.id, c.account_id, c.customer_phone, c.status, c.summary(40),
                   c.total_text(), c.updated_at, c.reminder_sent_at, c.order_id]
                  for c in found])
