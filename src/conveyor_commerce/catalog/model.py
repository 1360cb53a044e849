"""The catalogue's values: shops, categories, products, their sync status per shop and the
sync log, plus the kit's catalog settings. States are documented where they are defined and
enforced by the migration's CHECKs."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from conveyor_commerce.errors import CommerceError


class SyncStatus(StrEnum):
    PENDING = "pending"
    """A sync is waiting (or was never done)."""
    SYNCING = "syncing"
    """A job is writing it to the shop now."""
    SYNCED = "synced"
    """The shop holds what we hold (`content_hash`), under `external_id`."""
    ERROR = "error"
    """The last sync failed for good (`last_error`); retried by hand or every 6 hours."""
    CONFLICT = "conflict"
    """The shop's copy changed since our last sync; not overwritten until someone decides
    (sync with `force=True` to overwrite). Both versions are in the log."""


class Priority:
    """Product priorities: 1 (first) to 10; 1-3 sync on the high-priority queue."""

    HIGH_MAX = 3
    NORMAL_MAX = 7

    @staticmethod
    def band(priority: int) -> str:
        if priority <= Priority.HIGH_MAX:
            return "high"
        return "normal" if priority <= Priority.NORMAL_MAX else "low"


@dataclasses.dataclass(frozen=True, slots=True)
class Shop:
    """A PrestaShop shop. Its key is never part of this value (see `shops.Shops.endpoint`)."""

    id: int
    name: str
    base_url: str
    id_shop: int | None
    language_id: int
    timezone: str
    rate_limit: str
    key_encrypted: bool
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Category:
    id: int
    parent_id: int | None
    name: str
    link_rewrite: str
    active: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Product:
    id: int
    reference: str
    name: str
    price: str
    stock: int
    category_id: int
    priority: int
    active: bool
    updated_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class SyncRow:
    """The sync status of one product or category in one shop."""

    entity: str
    entity_id: int
    shop_id: int
    status: SyncStatus
    priority: int
    retry_count: int
    last_error: str | None
    external_id: int | None
    last_synced_at: datetime | None
    content_hash: str | None
    job_id: int | None
    updated_at: datetime
    label: str = ""
    """The product's reference or the category's name (listings)."""


@dataclasses.dataclass(frozen=True, slots=True)
class LogEntry:
    id: int
    entity: str
    entity_id: int
    shop_id: int
    operation: str
    direction: str
    status: str
    message: str
    details: str | None
    execution_time: float | None
    job_id: int | None
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class CatalogSettings:
    """Tunables of catalog sync, with production defaults."""

    queue: str = "catalog"
    """Queue of normal and low priority syncs (workers must serve it)."""
    high_queue: str = "catalog-high"
    """Queue of priority 1-3 products and of stock updates (the quick path)."""
    max_attempts: int = 3
    backoff: Sequence[float] = (30.0, 60.0, 300.0)
    """Seconds before the 2nd and 3rd attempt (and a 4th, if attempts are raised)."""
    timeout: float = 600.0
    """A sync job is stopped after 10 minutes."""
    give_up_after: float = 86_400.0
    """No retry starts later than 24 hours after the sync was asked for (`retry_until`)."""
    unique_for: float = 3600.0
    """Duplicate requests for one (product, shop) within this window join the waiting job."""
    shop_concurrency: int = 4
    """Syncs in flight per shop, across every worker."""
    http_timeout: float = 30.0
    nightly_at: int = 2
    """Hour (in each shop's time zone) of the nightly full sync."""
    nightly_cron: str | None = "*/15 * * * *"
    """How often the nightly check runs (it starts a shop's full sync in the quarter hour
    after `nightly_at` local time); None: no nightly sync."""
    retry_cron: str | None = "0 */6 * * *"
    """When failed syncs are enqueued again; None: never."""
    stale_syncing: float = 900.0
    """A `syncing` mark older than this is taken over (its worker died)."""

    def __post_init__(self) -> None:
        if not 1 <= self.max_attempts <= 100 or not 1 <= self.shop_concurrency <= 1000:
            raise CommerceError("max_attempts is 1..100 and shop_concurrency 1..1000")
        if self.timeout <= 0 or self.give_up_after <= 0 or self.unique_for <= 0:
            raise CommerceError("timeout, give_up_after and unique_for are seconds > 0")
        if not 0 <= self.nightly_at <= 23:
            raise CommerceError(f"nightly_at={self.nightly_at!r}: an hour from 0 to 23")
