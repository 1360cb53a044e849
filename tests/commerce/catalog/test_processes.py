"""Four real worker processes sync a 3-level tree of 200 categories enqueued at once: the
sandbox shop's own log shows every category created after its parent, and each under its
parent's id in the shop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor import JobFilter, JobState
from conveyor_commerce import Commerce
from conveyor_commerce.catalog.model import SyncStatus
from conveyor_commerce.sandbox.prestashop import PrestaShopSandbox
from tests.chaos import harness
from tests.commerce import commerce_app
from tests.commerce.catalog.conftest import KEY
from tests.commerce.conftest import _truncate_commerce

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture
def side(url: str) -> Iterator[Commerce]:
    _truncate_commerce(url)
    kit = commerce_app.test_side(url)
    kit.migrate()
    yield kit
    kit.close()
    kit.app.close()


def tree(kit: Commerce) -> dict[int, int | None]:
    """4 top categories, 7 children each, 6 grandchildren each child, ids shuffled by level
    (children are created before some of their parents' siblings)."""
    parents: dict[int, int | None] = {}
    tops = [kit.catalog.add_category(f"Top {a}").id for a in range(4)]
    parents.update(dict.fromkeys(tops))
    middle = []
    for b in range(7):
        for top in tops:
            child = kit.catalog.add_category(f"Mid {top}-{b}", parent=top).id
            parents[child] = top
            middle.append(child)
    for c in range(6):
        for mid in middle:
            parents[kit.catalog.add_category(f"Leaf {mid}-{c}", parent=mid).id] = mid
    assert len(parents) == 200
    return parents


def test_a_tree_of_200_categories_reaches_the_shop_parents_first(
        url: str, side: Commerce, shop_server: PrestaShopSandbox, tmp_path: Path) -> None:
    parents = tree(side)
    side.catalog.add_shop("main", shop_server.url, KEY, rate_limit="5000/s")
    jobs = side.catalog.sync_categories("main")
    waiting = sum(1 for job in jobs.values() if job.state == JobState.PENDING)
    assert len(jobs) == 200 and waiting == 196  # every category but the tops waits
    queues = f"{side.catalog.settings.queue},{side.catalog.settings.high_queue}"
    supervisor = harness.Supervisor(url, tmp_path / "ledger.db", tmp_path / "workers.log", 4,
                                    "--queues", queues, "--concurrency", "8",
                                    app=commerce_app.APP)
    try:
        harness.wait_for(lambda: side.catalog.counts("main", "category")["synced"] == 200,
                         500, "200 categories synced")
    finally:
        assert supervisor.stop() == [0, 0, 0, 0]
    created = [r for r in shop_server.shop.log()
               if r.method == "POST" and r.resource == "categories"]
    assert len(created) == 200 and all(r.status == 201 for r in created)
    seen = {2}
    for request in created:  # in arrival order: the parent was there already
        assert request.parent in seen, f"category {request.item} before its parent"
        seen.add(int(request.item or 0))
    external = {row.entity_id: row.external_id
                for row in side.catalog.statuses("main", entity="category", limit=500)}
    assert all(row.status == SyncStatus.SYNCED
               for row in side.catalog.statuses("main", entity="category", limit=500))
    by_id = {int(c["id"]): c for c in shop_server.shop.find("categories")}
    for local, parent in parents.items():
        expected = 2 if parent is None else external[parent]
        assert by_id[external[local] or 0]["id_parent"] == str(expected)
    workers = {job.attempted_by for job in side.app.jobs(JobFilter(
        names=[side.catalog.jobs.sync_category.name], limit=500)) if job.attempted_by}
    assert len(workers) > 1, "one process did all the work"
