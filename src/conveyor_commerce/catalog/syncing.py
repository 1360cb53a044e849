"""The bodies of the sync jobs: one product, one category, or one product's stock, to one
shop. Each reads the local row, compares with what the shop holds, writes only what differs,
and records the outcome (status row and a log row) in one transaction.

What an error does is decided by `prestashop.codes`: a throttle raises `RateLimited` on the
shop's key (every worker waits, no attempt used), a transient error counts a retry and lets
Conveyor try again after the backoff, anything else raises `Discard` with the shop's message.
When a job ends discarded - that, its last attempt failing, its deadline (`retry_until`) or its
timeout - `final_failure` (the job types' `on_discard` hook) marks the row `error` and logs it.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from conveyor import Discard, Job, RateLimited, Snooze, current_job
from conveyor_commerce.catalog import payload, store
from conveyor_commerce.catalog.model import Shop, SyncRow, SyncStatus
from conveyor_commerce.catalog.shops import shop_key
from conveyor_commerce.errors import CommerceError
from conveyor_commerce.prestashop import codes
from conveyor_commerce.prestashop.client import Client, Endpoint, ShopError, check_reference

if TYPE_CHECKING:
    from conveyor_commerce.kit import Commerce

HOOK_TRIES = 3
HOME = 2
"""The id of a default install's Home category: the parent of our top-level categories."""
BUSY_RECHECK = 2.0


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    operation: str
    """create, update, unchanged, or conflict."""
    external_id: int
    content_hash: str | None
    message: str
    details: dict[str, Any] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Work:
    """What a job read before calling the shop."""

    row: SyncRow
    entity: Any
    shop: Shop
    endpoint: Endpoint
    linked: int | None
    """The shop's id of the product's category, or of the category's parent."""


async def sync_product(kit: Commerce, product_id: int, shop_id: int,
                       force: bool = False) -> dict[str, Any]:
    work = await _begin(kit, "product", product_id, shop_id)
    product = work.entity
    if work.linked is None:
        raise await _give_up(kit, "product", product_id, shop_id,
                             f"category {product.category_id} of product "
                             f"{product.reference!r} is not in shop {work.shop.name!r} yet: "
                             "sync the category first")
    client = Client(kit.catalog.http(), work.endpoint)
    started = time.perf_counter()
    try:
        outcome = await _push_product(client, work, force)
    except ShopError as exc:
        raise await _failed(kit, "product", product_id, shop_id, exc) from None
    return await _finish(kit, "product", product_id, shop_id, outcome,
                         time.perf_counter() - started)


async def _push_product(client: Client, work: Work, force: bool) -> Outcome:
    product, language = work.entity, work.shop.language_id
    desired = payload.product_fields(product, work.linked or HOME, language)
    ours = payload.comparable(desired, language)
    our_hash = payload.content_hash(ours)
    remote = await _remote(client, "products", work.row.external_id,
                           {"reference": product.reference})
    if remote is None:
        created = await client.create("products", desired)
        await _write_stock(client, created, product.stock)
        return Outcome("create", int(created["id"]), our_hash,
                       f"created {product.reference!r} as product {created['id']}")
    item = int(remote["id"])
    theirs = payload.comparable(remote, language)
    their_hash = payload.content_hash(theirs)
    if their_hash == our_hash:
        stock = await _write_stock(client, remote, product.stock)
        return Outcome("unchanged", item, our_hash,
                       "the shop holds the same content" + (
                           f"; stock set to {product.stock}" if stock else ""))
    last = work.row.content_hash
    if not force and last is not None and their_hash != last:
        changed = sorted(k for k in ours if ours[k] != theirs[k])
        return Outcome("conflict", item, last,
                       f"product {item} was changed in the shop since our last sync "
                       f"({', '.join(changed)} differ): not overwritten",
                       {"ours": ours, "theirs": theirs})
    updated = await client.update("products", item, desired)
    await _write_stock(client, updated, product.stock)
    return Outcome("update", item, our_hash, f"updated product {item}" +
                   (" (overwriting the shop's changes)" if force and last != their_hash
                    else ""))


async def _write_stock(client: Client, remote: dict[str, Any], stock: int) -> bool:
    """Set the product's quantity in `stock_availables` unless it is already `stock`."""
    if str(remote.get("quantity", "")) == str(stock):
        return False
    rows = await client.find("stock_availables", {"id_product": int(remote["id"]),
                                                  "id_product_attribute": 0})
    if not rows:
        raise ShopError(404, f"product {remote['id']} has no stock_availables row", 87)
    if str(rows[0].get("quantity")) == str(stock):
        return False
    await client.update("stock_availables", int(rows[0]["id"]), {"quantity": stock},
                        current=rows[0])
    return True


async def sync_category(kit: Commerce, category_id: int, shop_id: int) -> dict[str, Any]:
    work = await _begin(kit, "category", category_id, shop_id)
    category = work.entity
    if category.parent_id is not None and work.linked is None:
        raise await _give_up(kit, "category", category_id, shop_id,
                             f"the parent category {category.parent_id} of {category.name!r} "
                             f"is not in shop {work.shop.name!r}: its sync failed or was not "
                             "asked for")
    client = Client(kit.catalog.http(), work.endpoint)
    started = time.perf_counter()
    desired = payload.category_fields(category, work.linked or HOME, work.shop.language_id)
    try:
        remote = await _remote(client, "categories", work.row.external_id,
                               _category_filters(category.name, desired["id_parent"]))
        if remote is None:
            created = await client.create("categories", desired)
            outcome = Outcome("create", int(created["id"]), None,
                              f"created {category.name!r} as category {created['id']} under "
                              f"{desired['id_parent']}")
        elif (str(remote.get("id_parent")), payload.text_of(remote.get("name"),
                                                             work.shop.language_id)) == \
                (str(desired["id_parent"]), category.name):
            outcome = Outcome("unchanged", int(remote["id"]), None,
                              "the shop holds the same category")
        else:
            await client.update("categories", int(remote["id"]), desired)
            outcome = Outcome("update", int(remote["id"]), None,
                              f"updated category {remote['id']}")
    except ShopError as exc:
        raise await _failed(kit, "category", category_id, shop_id, exc) from None
    return await _finish(kit, "category", category_id, shop_id, outcome,
                         time.perf_counter() - started)


async def sync_stock(kit: Commerce, product_id: int, shop_id: int) -> dict[str, Any]:
    """The quick path: only the quantity, for a product the shop already has."""
    job = current_job().job

    def read() -> tuple[Any, SyncRow | None, Endpoint]:
        with kit.ready().begin() as conn:
            product = store.product(conn, product_id)
            _, endpoint = kit.catalog.shops.endpoint_on(conn, shop_id)
            return product, store.status(conn, "product", product_id, shop_id), endpoint

    try:
        product, row, endpoint = await kit.in_thread(read)
    except CommerceError as exc:
        raise Discard(str(exc)) from None
    if row is None or row.external_id is None:
        queued = await kit.catalog.async_sync_product(product_id, shop_id)
        return {"queued_product_sync": queued}
    started = time.perf_counter()
    try:
        wrote = await _write_stock(Client(kit.catalog.http(), endpoint),
                                   {"id": row.external_id}, product.stock)
    except ShopError as exc:
        raise _control(exc, shop_id) or exc from None
    elapsed = time.perf_counter() - started

    def record() -> None:
        with kit.ready().begin() as conn:
            store.log(conn, "product", product_id, shop_id, "stock", "success", kit.now(),
                      message=f"stock set to {product.stock}" if wrote else
                      f"the shop already holds stock {product.stock}",
                      execution_time=elapsed, job_id=job.id)

    await kit.in_thread(record)
    return {"stock": product.stock, "written": wrote}


async def _begin(kit: Commerce, entity: str, entity_id: int, shop_id: int) -> Work:
    job = current_job().job
    now = kit.now()

    def read() -> Work | None:
        with kit.ready().begin() as conn:
            row = store.claim(conn, entity, entity_id, shop_id, job.id, now,
                              kit.catalog.settings.stale_syncing)
            if row is None:
                return None
            shop, endpoint = kit.catalog.shops.endpoint_on(conn, shop_id)
            if entity == "product":
                found: Any = store.product(conn, entity_id)
                link = store.status(conn, "category", found.category_id, shop_id)
            else:
                found = store.category(conn, entity_id)
                link = None if found.parent_id is None else \
                    store.status(conn, "category", found.parent_id, shop_id)
            return Work(row, found, shop, endpoint, None if link is None or
                        link.status != SyncStatus.SYNCED else link.external_id)

    try:
        work = await kit.in_thread(read)
    except CommerceError as exc:
        raise Discard(str(exc)) from None
    if work is None:  # another job syncs it now: wait for it, using no attempt
        raise Snooze(BUSY_RECHECK)
    return work


def _category_filters(name: str, parent: int) -> dict[str, str] | None:
    """How to find a category we may have created already (a POST whose answer was lost):
    by parent and name - unless the name holds characters the filter grammar reads."""
    try:
        return {"id_parent": str(parent), "name": check_reference(name)}
    except ValueError:
        return None


async def _remote(client: Client, resource: str, external_id: int | None,
                  filters: dict[str, str] | None) -> dict[str, Any] | None:
    """The shop's object: by the id we know, else by reference (several matches: refused)."""
    if external_id is not None:
        try:
            return await client.get(resource, external_id)
        except ShopError as exc:
            if exc.status != 404:
                raise
    if not filters:
        return None
    found = await client.find(resource, filters)
    if len(found) > 1:
        raise ShopError(409, f"{len(found)} {resource} in the shop hold {filters}: resolve "
                        "the duplicates in the shop first")
    return found[0] if found else None


async def _finish(kit: Commerce, entity: str, entity_id: int, shop_id: int, outcome: Outcome,
                  elapsed: float) -> dict[str, Any]:
    job = current_job().job
    conflict = outcome.operation == "conflict"

    def write() -> None:
        now = kit.now()
        with kit.ready().begin() as conn:
            store.settle(conn, entity, entity_id, shop_id,
                         SyncStatus.CONFLICT if conflict else SyncStatus.SYNCED, now,
                         external_id=outcome.external_id, content_hash=outcome.content_hash,
                         **({"last_error": outcome.message} if conflict else {}))
            store.log(conn, entity, entity_id, shop_id,
                      "update" if conflict else outcome.operation,
                      "conflict" if conflict else "success", now, message=outcome.message,
                      details=outcome.details, execution_time=round(elapsed, 6),
                      job_id=job.id, direction="pull" if conflict else "push")

    await kit.in_thread(write)
    return {"operation": outcome.operation, "external_id": outcome.external_id}


async def _failed(kit: Commerce, entity: str, entity_id: int, shop_id: int,
                  exc: ShopError) -> BaseException:
    """The exception that ends this attempt, after recording it on the status row."""
    now, message = kit.now(), str(exc)

    def write(count: bool) -> None:
        with kit.ready().begin() as conn:
            if count:
                store.count_retry(conn, entity, entity_id, shop_id, message, now)
            else:
                store.settle(conn, entity, entity_id, shop_id, SyncStatus.PENDING, now)

    control = _control(exc, shop_id)
    job = current_job().job
    if isinstance(control, Discard):
        return await _give_up(kit, entity, entity_id, shop_id, control.reason)
    if control is None and job.attempt >= job.max_attempts:  # the last one: record it now
        await _give_up(kit, entity, entity_id, shop_id, f"{message} (after {job.attempt} "
                       "attempts)")
        return exc
    await kit.in_thread(lambda: write(control is None))
    return control or exc


async def _give_up(kit: Commerce, entity: str, entity_id: int, shop_id: int,
                   reason: str) -> Discard:
    """Record the failure (row `error`, a log row) before the job ends: the `on_discard`
    hook runs after the job is settled, outside its attempt, and finds it done."""
    job_id = current_job().job.id
    await kit.in_thread(lambda: record_error(kit, entity, None, entity_id, shop_id, job_id,
                                             reason))
    return Discard(reason)


def _control(exc: ShopError, shop_id: int) -> RateLimited | Discard | None:
    """What the error table says, as the control exception to raise (None: retry)."""
    if exc.rule.action == codes.Action.THROTTLE:
        return RateLimited(exc.retry_after or 60.0, key=shop_key(shop_id))
    if exc.rule.action == codes.Action.DISCARD:
        return Discard(f"{exc} ({exc.rule.meaning})")
    return None


def final_failure(kit: Commerce, entity: str, operation: str, job: Job,
                  error: BaseException | None) -> None:
    """`on_discard` of the sync jobs: the row ends `error` with the reason, and a log row -
    unless the job recorded its failure itself. Retried a few times: it runs once, after the
    job was settled, and a busy database must not leave the row `syncing`."""
    args = [*job.args, *job.kwargs.values()]
    entity_id, shop_id = int(args[0]), int(args[1])
    reason = str(error) if error is not None else (
        job.errors[-1].message if job.errors else "discarded")
    for attempt in range(HOOK_TRIES):
        try:
            record_error(kit, entity, "stock" if operation == "stock" else None, entity_id,
                         shop_id, job.id, reason, unless_recorded=True)
            return
        except sa.exc.DBAPIError:
            if attempt == HOOK_TRIES - 1:
                raise
            time.sleep(1.0 + attempt)


def record_error(kit: Commerce, entity: str, operation: str | None, entity_id: int,
                 shop_id: int, job_id: int, reason: str, unless_recorded: bool = False) -> None:
    """Row `error` with `reason` (not for stock, which has no row of its own) and a log row
    whose operation is create or update (by whether the shop has it), or `operation`."""
    now = kit.now()
    with kit.ready().begin() as conn:
        row = store.status(conn, entity, entity_id, shop_id)
        if unless_recorded and operation is None and row is not None \
                and row.status == SyncStatus.ERROR and row.job_id == job_id:
            return
        if operation is None:
            operation = "update" if row is not None and row.external_id else "create"
            store.settle(conn, entity, entity_id, shop_id, SyncStatus.ERROR, now,
                         last_error=reason[:2000], job_id=job_id)
        store.log(conn, entity, entity_id, shop_id, operation, "error", now, message=reason,
                  job_id=job_id)
