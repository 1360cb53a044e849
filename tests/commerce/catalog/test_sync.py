"""Catalog sync against the sandbox shop, on both backends: create, update and unchanged (no
write), duplicates joining one job, stock on the quick path, conflicts kept, transient errors
retried, final failures recorded, a missing parent reported with the shop's message."""

from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa

from conveyor import JobState
from conveyor_commerce import Commerce
from conveyor_commerce.catalog.model import Shop, SyncStatus
from conveyor_commerce.sandbox.prestashop import PrestaShopSandbox
from conveyor_commerce.tables import sync_status as T
from tests.commerce.catalog.conftest import settle


def one_product(kit: Commerce, **changes: object) -> int:
    shoes = kit.catalog.add_category("Shoes")
    boots = kit.catalog.add_category("Boots", parent=shoes.id)
    fields: dict[str, object] = {"stock": 4, "priority": 5, **changes}
    return kit.catalog.add_product("SKU-1", "Hiking boot", "129.90", category=boots.id,
                                   **fields).id  # type: ignore[arg-type]


def test_create_then_unchanged_then_update_keeps_the_shops_other_fields(
        catalog_kit: Commerce, shop: Shop, shop_server: PrestaShopSandbox) -> None:
    kit, state = catalog_kit, shop_server.shop
    product_id = one_product(kit)
    kit.catalog.sync_product("SKU-1", "main")
    settle(kit)
    [remote] = state.find("products", reference="SKU-1")
    assert remote["price"] == "129.900000" and remote["quantity"] == "4"
    [boots] = state.find("categories", id=remote["id_category_default"])
    assert [c["id_parent"] for c in state.find("categories", id=boots["id_parent"])] == ["2"]
    row = kit.catalog.status("SKU-1", "main")
    assert row is not None and row.status == SyncStatus.SYNCED
    assert row.external_id == remote["id"] and row.content_hash
    writes = len(state.writes())
    assert writes == 4  # two categories, the product, its stock

    kit.catalog.sync_product("SKU-1", "main")
    settle(kit)
    assert len(state.writes()) == writes  # unchanged: nothing written
    assert kit.catalog.log("main", entity="product")[0].operation == "unchanged"

    state.edit("products", remote["id"], {"description": [{"id": "1", "value": "Merchant's"}]})
    kit.catalog.update_product("SKU-1", price="99.5")
    kit.catalog.sync_product(product_id, shop.id)
    settle(kit)
    [put] = state.writes("products")[1:]
    assert put.method == "PUT"
    [remote] = state.find("products", reference="SKU-1")
    assert remote["price"] == "99.500000"
    assert remote["description"] == [{"id": "1", "value": "Merchant's"}]  # kept by the RMW
    operations = [e.operation for e in kit.catalog.log("main", entity="product")]
    assert operations == ["update", "unchanged", "create"]
    assert all(e.execution_time is not None for e in kit.catalog.log("main"))


def test_a_burst_of_100_duplicate_requests_makes_one_job_and_one_write(
        catalog_kit: Commerce, shop: Shop, shop_server: PrestaShopSandbox) -> None:
    kit = catalog_kit
    one_product(kit)
    kit.catalog.sync_product("SKU-1", "main")  # categories exist (and their jobs wait)
    ids: list[int] = []
    gate = threading.Barrier(10)

    def ask() -> None:
        gate.wait()
        ids.extend(kit.catalog.sync_product("SKU-1", "main").id for _ in range(10))

    threads = [threading.Thread(target=ask) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == 100 and len(set(ids)) == 1
    settle(kit)
    assert len(shop_server.shop.writes("products")) == 1
    assert kit.app.get(ids[0]).state == JobState.COMPLETED


def test_stock_goes_on_the_quick_path(catalog_kit: Commerce, shop: Shop,
                                      shop_server: PrestaShopSandbox) -> None:
    kit = catalog_kit
    one_product(kit)
    kit.catalog.sync_product("SKU-1", "main")
    settle(kit)
    kit.catalog.update_product("SKU-1", stock=17)
    job = kit.catalog.sync_stock("SKU-1", "main")
    assert job.queue == kit.catalog.settings.high_queue
    settle(kit)
    [remote] = shop_server.shop.find("products", reference="SKU-1")
    assert remote["quantity"] == "17"
    assert shop_server.shop.writes()[-1].resource == "stock_availables"
    assert kit.catalog.log("main")[0].operation == "stock"


def test_priority_up_to_3_uses_the_high_priority_queue(catalog_kit: Commerce,
                                                       shop: Shop) -> None:
    kit = catalog_kit
    one_product(kit, priority=2)
    job = kit.catalog.sync_product("SKU-1", "main")
    assert (job.queue, job.priority) == (kit.catalog.settings.high_queue, 2)
    assert job.max_attempts == 3 and job.meta["timeout"] == 600.0
    assert "retry_until" in job.meta
    assert job.state == JobState.PENDING  # waits for its category's job
    settle(kit)
    assert kit.catalog.counts("main") == {"pending": 0, "syncing": 0, "synced": 1, "error": 0,
                                          "conflict": 0}


def test_a_product_changed_in_the_shop_becomes_a_conflict_not_an_overwrite(
        catalog_kit: Commerce, shop: Shop, shop_server: PrestaShopSandbox) -> None:
    kit, state = catalog_kit, shop_server.shop
    one_product(kit)
    kit.catalog.sync_product("SKU-1", "main")
    settle(kit)
    [remote] = state.find("products", reference="SKU-1")
    state.edit("products", remote["id"], {"price": "150"})  # the merchant's change
    kit.catalog.update_product("SKU-1", name="Hiking boot II")
    kit.catalog.sync_product("SKU-1", "main")
    settle(kit)
    row = kit.catalog.status("SKU-1", "main")
    assert row is not None and row.status == SyncStatus.CONFLICT
    assert "changed in the shop" in (row.last_error or "")
    [remote] = state.find("products", reference="SKU-1")
    assert remote["price"] == "150.000000" and remote["name"][0]["value"] == "Hiking boot"
    assert len(state.writes("products")) == 1  # only the create
    conflict = kit.catalog.log("main", status="conflict")[0]
    assert conflict.direction == "pull" and conflict.details is not None
    assert '"price":"150"' in conflict.details and '"price":"129.9"' in conflict.details
    assert "Hiking boot II" in conflict.details

    kit.catalog.sync_product("SKU-1", "main", force=True)  # someone decides: ours wins
    settle(kit)
    [remote] = state.find("products", reference="SKU-1")
    assert remote["price"] == "129.900000" and remote["name"][0]["value"] == "Hiking boot II"
    row = kit.catalog.status("SKU-1", "main")
    assert row is not None and row.status == SyncStatus.SYNCED


def test_server_errors_are_retried_and_a_final_failure_is_recorded(
        catalog_kit: Commerce, shop: Shop, shop_server: PrestaShopSandbox) -> None:
    kit, state = catalog_kit, shop_server.shop
    one_product(kit)
    kit.catalog.sync_categories("main")
    settle(kit)
    state.inject(500, times=2, method="POST", resource="products")
    kit.catalog.sync_product("SKU-1", "main")
    settle(kit)
    row = kit.catalog.status("SKU-1", "main")
    assert row is not None and (row.status, row.retry_count) == (SyncStatus.SYNCED, 2)

    kit.catalog.update_product("SKU-1", price="1")
    state.inject(503, times=50, method="PUT", resource="products")
    job = kit.catalog.sync_product("SKU-1", "main")
    settle(kit)
    assert kit.app.get(job.id).state == JobState.DISCARDED
    assert kit.app.get(job.id).attempt == 3
    row = kit.catalog.status("SKU-1", "main")
    assert row is not None and row.status == SyncStatus.ERROR
    assert "HTTP 503" in (row.last_error or "")
    [failure] = kit.catalog.log("main", status="error")
    assert (failure.operation, failure.job_id) == ("update", job.id)
    assert "HTTP 503" in failure.message
    assert kit.catalog.retry_failed("main") == 1  # what the 6-hourly cron does
    state.faults.clear()
    settle(kit)
    row = kit.catalog.status("SKU-1", "main")
    assert row is not None and row.status == SyncStatus.SYNCED


def test_validation_errors_end_in_error_with_the_shops_message_at_once(
        catalog_kit: Commerce, shop: Shop, shop_server: PrestaShopSandbox) -> None:
    kit = catalog_kit
    one_product(kit)
    shop_server.shop.reject(["SKU-1"])
    job = kit.catalog.sync_product("SKU-1", "main")
    settle(kit)
    assert kit.app.get(job.id).attempt == 1  # a 4xx is never retried
    row = kit.catalog.status("SKU-1", "main")
    assert row is not None and row.status == SyncStatus.ERROR
    assert 'Property Product->price is not valid' in (row.last_error or "")


def test_a_parent_missing_in_the_shop_is_reported_with_its_message(
        catalog_kit: Commerce, shop: Shop, shop_server: PrestaShopSandbox) -> None:
    kit, state = catalog_kit, shop_server.shop
    shoes = kit.catalog.add_category("Shoes")
    kit.catalog.sync_categories("main")
    settle(kit)
    [remote] = [c for c in state.find("categories") if c["name"][0]["value"] == "Shoes"]
    state.delete("categories", remote["id"])  # deleted in the back office
    boots = kit.catalog.add_category("Boots", parent=shoes.id)
    kit.catalog.sync_category(boots.id, "main")
    settle(kit)
    rows = {r.entity_id: r for r in kit.catalog.statuses("main", entity="category")}
    assert rows[boots.id].status == SyncStatus.ERROR
    assert f"Parent category {remote['id']} does not exist" in (rows[boots.id].last_error or "")


def test_a_sync_left_syncing_by_a_lost_worker_is_picked_up_by_the_retry_sweep(
        catalog_kit: Commerce, shop: Shop, shop_server: PrestaShopSandbox) -> None:
    kit = catalog_kit
    product_id = one_product(kit)
    kit.catalog.sync_product("SKU-1", "main")
    settle(kit)
    hour_ago = kit.now() - timedelta(hours=1)
    with kit.ready().begin() as conn:  # as a worker SIGKILLed mid-sync leaves it
        conn.execute(sa.update(T).where(T.c.entity == "product", T.c.entity_id == product_id)
                     .values(status="syncing", job_id=999, started_at=hour_ago))
    assert kit.catalog.retry_failed("main") == 1
    settle(kit)
    row = kit.catalog.status("SKU-1", "main")
    assert row is not None and row.status == SyncStatus.SYNCED and row.job_id != 999


def test_when_a_category_fails_its_products_end_in_error_saying_why(
        catalog_kit: Commerce, shop: Shop, shop_server: PrestaShopSandbox) -> None:
    kit = catalog_kit
    one_product(kit)
    shop_server.shop.inject(400, times=1, method="POST", resource="categories")
    kit.catalog.sync_product("SKU-1", "main")
    settle(kit)
    rows = {(r.entity, r.label): r for r in kit.catalog.statuses("main")}
    assert rows[("category", "Shoes")].status == SyncStatus.ERROR
    assert rows[("category", "Boots")].status == SyncStatus.ERROR
    assert "parent category" in (rows[("category", "Boots")].last_error or "")
    product = rows[("product", "SKU-1")]
    assert product.status == SyncStatus.ERROR
    assert "is not in shop 'main' yet: sync the category first" in (product.last_error or "")
    assert shop_server.shop.writes() == []
    assert kit.catalog.retry_failed("main") == 3  # the sweep brings them all back
    settle(kit)
    assert kit.catalog.counts("main") == {"pending": 0, "syncing": 0, "synced": 1, "error": 0,
                                          "conflict": 0}


def test_a_create_whose_answer_is_lost_is_found_again_not_duplicated(
        catalog_kit: Commerce, shop: Shop, shop_server: PrestaShopSandbox) -> None:
    kit, state = catalog_kit, shop_server.shop
    one_product(kit)
    state.inject(502, times=1, method="POST", resource="categories", after_write=True)
    state.inject(502, times=1, method="POST", resource="products", after_write=True)
    kit.catalog.sync_product("SKU-1", "main")
    settle(kit)
    names = [c["name"][0]["value"] for c in state.find("categories")]
    assert sorted(names) == ["Boots", "Home", "Root", "Shoes"]  # Shoes created once
    assert len(state.find("products", reference="SKU-1")) == 1
    rows = {(r.entity, r.label): r for r in kit.catalog.statuses("main")}
    assert all(r.status == SyncStatus.SYNCED for r in rows.values())
    assert rows[("product", "SKU-1")].retry_count == 1
    assert [e.operation for e in kit.catalog.log("main", entity="product")] == ["unchanged"]
