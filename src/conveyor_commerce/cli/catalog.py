"""`conveyor commerce shops add|list` and `conveyor commerce sync product|category|stock|all|
retry|status|log`: PrestaShop shops and catalog sync from the command line.

A shop's Webservice key is read from a hidden prompt or standard input (`--key-stdin`), never
from the command line (which `ps` shows to every user), and never printed: listings show only
whether it is encrypted at rest."""

from __future__ import annotations

import sys
from typing import Any

import click

from conveyor_commerce.catalog.model import LogEntry, Shop, SyncStatus
from conveyor_commerce.cli import common
from conveyor_commerce.vault import Secret

SHOP = click.option("--shop", required=True, help="The shop's name or id.")


def _shop_ref(value: str) -> int | str:
    return int(value) if value.isdigit() else value


@click.group()
def shops() -> None:
    """PrestaShop shops that catalog sync writes to."""


@shops.command("add")
@click.argument("name")
@click.option("--url", "base_url", required=True, help="The shop's root URL (API at /api/).")
@click.option("--timezone", default="UTC", show_default=True,
              help="The shop's time zone (its nightly sync runs at 02:00 there).")
@click.option("--rate", "rate_limit", default="300/m", show_default=True,
              help="Requests the shop accepts, e.g. 300/m or 5/s.")
@click.option("--id-shop", type=int, help="Multistore: the shop's id_shop.")
@click.option("--key-stdin", is_flag=True, help="Read the Webservice key from standard input.")
@click.pass_context
def add(ctx: click.Context, name: str, base_url: str, timezone: str, rate_limit: str,
        id_shop: int | None, key_stdin: bool) -> None:
    """Add a shop; its Webservice key is asked for (hidden) or read from stdin."""
    key = Secret(sys.stdin.readline().strip() if key_stdin else
                 str(click.prompt("Webservice key", hide_input=True)).strip())
    with common.kit(ctx) as kit:
        shop = kit.catalog.add_shop(name, base_url, key, timezone=timezone,
                                    rate_limit=rate_limit, id_shop=id_shop)
    click.echo(f"shop {shop.id} ({shop.name}) added; key "
               f"{'encrypted' if shop.key_encrypted else 'stored UNENCRYPTED'}")


@shops.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_shops(ctx: click.Context, as_json: bool) -> None:
    """Shops (never their keys)."""
    with common.kit(ctx) as kit:
        found = kit.catalog.shops.list()
    if as_json:
        common.emit_json([_public(s) for s in found])
        return
    common.table("PrestaShop shops", ["id", "name", "url", "time zone", "rate", "key"],
                 [[s.id, s.name, s.base_url, s.timezone, s.rate_limit,
                   "encrypted" if s.key_encrypted else "plain"] for s in found])


def _public(shop: Shop) -> dict[str, Any]:
    return {"id": shop.id, "name": shop.name, "base_url": shop.base_url,
            "timezone": shop.timezone, "rate_limit": shop.rate_limit, "id_shop": shop.id_shop,
            "key_encrypted": shop.key_encrypted}


@click.group()
def sync() -> None:
    """Catalog sync to PrestaShop: ask for syncs, read their status and log."""


@sync.command("product")
@click.argument("references", nargs=-1, required=True)
@SHOP
@click.option("--force", is_flag=True, help="Overwrite the shop's copy (resolves a conflict).")
@click.pass_context
def product(ctx: click.Context, references: tuple[str, ...], shop: str, force: bool) -> None:
    """Sync products (by reference) to a shop."""
    with common.kit(ctx) as kit:
        for reference in references:
            job = kit.catalog.sync_product(reference, _shop_ref(shop), force=force)
            click.echo(f"{reference}: job {job.id} "
                       f"({'already waiting' if job.duplicate else job.state.value})")


@sync.command("category")
@click.argument("ids", nargs=-1, type=int)
@SHOP
@click.pass_context
def category(ctx: click.Context, ids: tuple[int, ...], shop: str) -> None:
    """Sync categories (every one without IDS), parents first."""
    with common.kit(ctx) as kit:
        jobs = kit.catalog.sync_categories(_shop_ref(shop), list(ids) if ids else None)
    click.echo(f"{len(jobs)} category syncs enqueued, parents first")


@sync.command("stock")
@click.argument("reference")
@SHOP
@click.pass_context
def stock(ctx: click.Context, reference: str, shop: str) -> None:
    """Sync one product's stock (the quick path)."""
    with common.kit(ctx) as kit:
        job = kit.catalog.sync_stock(reference, _shop_ref(shop))
    click.echo(f"{reference}: stock job {job.id}")


@sync.command("all")
@SHOP
@click.pass_context
def all_products(ctx: click.Context, shop: str) -> None:
    """Sync every active product as one batch (high priority first)."""
    with common.kit(ctx) as kit:
        batch = kit.catalog.bulk_sync(_shop_ref(shop))
    if batch is None:
        click.echo("no active product to sync")
        return
    click.echo(f"batch {batch.id}: {batch.progress.total} products "
               f"(conveyor batches show {batch.id})")


@sync.command("retry")
@SHOP
@click.pass_context
def retry(ctx: click.Context, shop: str) -> None:
    """Enqueue again every sync of the shop in error."""
    with common.kit(ctx) as kit:
        count = kit.catalog.retry_failed(_shop_ref(shop))
    click.echo(f"{count} failed syncs enqueued again" if count else "nothing in error")


@sync.command("status")
@SHOP
@click.option("--status", "statuses", multiple=True,
              type=click.Choice([s.value for s in SyncStatus]),
              help="List rows in this status (default: error and conflict).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status(ctx: click.Context, shop: str, statuses: tuple[str, ...], limit: int,
           as_json: bool) -> None:
    """Counts by status per entity, and the rows that need attention."""
    wanted = [SyncStatus(s) for s in statuses] or [SyncStatus.ERROR, SyncStatus.CONFLICT]
    with common.kit(ctx) as kit:
        target = kit.catalog.shops.get(_shop_ref(shop))
        counts = {entity: kit.catalog.counts(target.id, entity)
                  for entity in ("product", "category")}
        rows = kit.catalog.statuses(target.id, wanted, limit=limit)
    if as_json:
        common.emit_json({"shop": target.name, "counts": counts,
                          "rows": [{"entity": r.entity, "id": r.entity_id, "label": r.label,
                                    "status": r.status.value, "retries": r.retry_count,
                                    "external_id": r.external_id, "error": r.last_error,
                                    "updated_at": r.updated_at} for r in rows]})
        return
    states = [s.value for s in SyncStatus]
    common.table(f"Sync status of {target.name}", ["entity", *states],
                 [[entity, *(counts[entity][s] for s in states)] for entity in counts])
    common.table(", ".join(s.value for s in wanted), ["entity", "id", "label", "status",
                                                      "retries", "shop id", "error",
                                                      "updated"],
                 [[r.entity, r.entity_id, r.label, r.status.value, r.retry_count,
                   r.external_id, r.last_error, r.updated_at] for r in rows])


@sync.command("log")
@click.option("--shop", help="Only this shop (name or id).")
@click.option("--status", type=click.Choice(["success", "error", "conflict"]))
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def log(ctx: click.Context, shop: str | None, status: str | None, limit: int,
        as_json: bool) -> None:
    """The sync log, newest first."""
    with common.kit(ctx) as kit:
        entries = kit.catalog.log(None if shop is None else _shop_ref(shop), status=status,
                                  limit=limit)
    if as_json:
        common.emit_json([_entry(e) for e in entries])
        return
    common.table("Sync log", ["id", "at", "shop", "entity", "operation", "direction",
                              "status", "ms", "message"],
                 [[e.id, e.created_at, e.shop_id, f"{e.entity} {e.entity_id}", e.operation,
                   e.direction, e.status,
                   "" if e.execution_time is None else f"{e.execution_time * 1000:.0f}",
                   e.message] for e in entries])


def _entry(entry: LogEntry) -> dict[str, Any]:
    return {"id": entry.id, "at": entry.created_at, "shop_id": entry.shop_id,
            "entity": entry.entity, "entity_id": entry.entity_id,
            "operation": entry.operation, "direction": entry.direction,
            "status": entry.status, "message": entry.message, "details": entry.details,
            "execution_time": entry.execution_time, "job_id": entry.job_id}
