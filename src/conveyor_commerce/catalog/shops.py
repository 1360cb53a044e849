"""`commerce.catalog.shops`: the PrestaShop shops catalog sync writes to.

A shop's Webservice key is a secret: sealed by the vault before it is stored, opened only
into the client's `Endpoint` when a job calls the shop, and never part of a `Shop` value, a
listing, a log line or CLI output. Each shop has its own rate limit (a Conveyor rate spec such
as "300/m", read when a sync is enqueued) and time zone (for the nightly sync).
"""

from __future__ import annotations

import re
import time
import zoneinfo
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from conveyor import ConfigurationError, Rate
from conveyor_commerce.catalog.model import Shop
from conveyor_commerce.errors import InvalidCatalog, ShopNotFound
from conveyor_commerce.prestashop.client import Endpoint
from conveyor_commerce.tables import shops as S
from conveyor_commerce.vault import Secret

if TYPE_CHECKING:
    from conveyor_commerce.kit import Commerce

_KEY = re.compile(r"^[A-Za-z0-9]{32}$")
RATE_CACHE_SECONDS = 10.0


def shop_key(shop_id: int) -> str:
    """The Conveyor limit key of a shop (its rate and its concurrency)."""
    return f"ps:{shop_id}"


class Shops:
    def __init__(self, kit: Commerce) -> None:
        self.kit = kit
        self._rates: dict[int, tuple[float, str]] = {}

    def add(self, name: str, base_url: str, key: str | Secret, *, timezone: str = "UTC",
            rate_limit: str = "300/m", id_shop: int | None = None,
            language_id: int = 1) -> Shop:
        """Add a shop: its root URL (the Webservice is under `/api/`) and its 32-character
        Webservice key, which the vault seals before it is stored."""
        secret = key if isinstance(key, Secret) else Secret(str(key))
        _check(name, base_url, timezone, rate_limit, id_shop, language_id)
        if not _KEY.match(secret.reveal()):
            raise InvalidCatalog("a PrestaShop Webservice key is 32 letters and digits")
        now = self.kit.now()
        with self.kit.ready().begin() as conn:
            if conn.execute(sa.select(S.c.id).where(S.c.name == name)).first() is not None:
                raise InvalidCatalog(f"a shop named {name!r} already exists")
            new_id = conn.execute(sa.insert(S).values(
                name=name, base_url=base_url.rstrip("/"), api_key=self.kit.vault.seal(secret),
                id_shop=id_shop, language_id=language_id, timezone=timezone,
                rate_limit=rate_limit, created_at=now, updated_at=now).returning(S.c.id)
            ).scalar_one()
        return self.get(int(new_id))

    def get(self, shop: int | str) -> Shop:
        with self.kit.ready().begin() as conn:
            return self.get_on(conn, shop)

    def get_on(self, conn: sa.Connection, shop: int | str) -> Shop:
        column = S.c.id if isinstance(shop, int) else S.c.name
        row = conn.execute(sa.select(S).where(column == shop)).mappings().first()
        if row is None:
            raise ShopNotFound(f"no PrestaShop shop {shop!r}")
        return _shop(row)

    def list(self) -> list[Shop]:
        with self.kit.ready().begin() as conn:
            return [_shop(row) for row in conn.execute(sa.select(S).order_by(S.c.id)).mappings()]

    def update(self, shop: int | str, **fields: Any) -> Shop:
        """Change `base_url`, `timezone`, `rate_limit`, `id_shop` or `language_id` (a new
        rate applies to syncs enqueued from now on)."""
        allowed = {"base_url", "timezone", "rate_limit", "id_shop", "language_id"}
        if set(fields) - allowed:
            raise InvalidCatalog(f"cannot change {sorted(set(fields) - allowed)}; changeable: "
                                 f"{sorted(allowed)}")
        current = self.get(shop)
        merged = {name: getattr(current, name) for name in allowed} | fields
        _check(current.name, merged["base_url"], merged["timezone"], merged["rate_limit"],
               merged["id_shop"], merged["language_id"])
        with self.kit.ready().begin() as conn:
            conn.execute(sa.update(S).where(S.c.id == current.id)
                         .values(updated_at=self.kit.now(), **fields))
        self._rates.pop(current.id, None)
        return self.get(current.id)

    def rotate_key(self, shop: int | str, key: str | Secret) -> Shop:
        secret = key if isinstance(key, Secret) else Secret(str(key))
        if not _KEY.match(secret.reveal()):
            raise InvalidCatalog("a PrestaShop Webservice key is 32 letters and digits")
        current = self.get(shop)
        with self.kit.ready().begin() as conn:
            conn.execute(sa.update(S).where(S.c.id == current.id).values(
                api_key=self.kit.vault.seal(secret), updated_at=self.kit.now()))
        return self.get(current.id)

    def endpoint_on(self, conn: sa.Connection, shop_id: int) -> tuple[Shop, Endpoint]:
        """The shop and its Webservice endpoint, the key opened from the vault."""
        row = conn.execute(sa.select(S).where(S.c.id == shop_id)).mappings().first()
        if row is None:
            raise ShopNotFound(f"no PrestaShop shop {shop_id!r}")
        shop = _shop(row)
        return shop, Endpoint(shop.base_url, self.kit.vault.open(row["api_key"]), shop.id_shop)

    def rate_of(self, shop_id: int) -> str:
        """The shop's rate spec, cached a few seconds (it is read at every enqueue)."""
        cached = self._rates.get(shop_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        rate = self.get(shop_id).rate_limit
        self._rates[shop_id] = (time.monotonic() + RATE_CACHE_SECONDS, rate)
        return rate


def _shop(row: Any) -> Shop:
    return Shop(id=int(row["id"]), name=row["name"], base_url=row["base_url"],
                id_shop=row["id_shop"], language_id=int(row["language_id"]),
                timezone=row["timezone"], rate_limit=row["rate_limit"],
                key_encrypted=str(row["api_key"]).startswith("fernet:"),
                created_at=row["created_at"])


def _check(name: str, base_url: str, timezone: str, rate_limit: str, id_shop: int | None,
           language_id: int) -> None:
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100 or name != name.strip():
        raise InvalidCatalog(f"shop name {name!r:.60}: 1 to 100 characters, no outer spaces")
    if not isinstance(base_url, str) or not re.match(r"^https?://[^\s/?#@]+(/[^\s?#]*)?$",
                                                     base_url):
        shown = re.sub(r"//[^/@]*@", "//", str(base_url).split("?")[0].split("#")[0])
        raise InvalidCatalog(f"base_url {shown!r:.80} (query and credentials not shown): the "
                             "shop's root, http(s)://host[/path] without a query, credentials "
                             "or ws_key")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidCatalog(f"timezone {timezone!r:.60} is not an IANA time zone "
                             "(e.g. Europe/Warsaw)") from None
    try:
        Rate(rate_limit).interval("catalog")
    except ConfigurationError:
        raise InvalidCatalog(f"rate_limit {rate_limit!r:.60}: write COUNT/UNIT like '300/m' "
                             "or '5/s'") from None
    if id_shop is not None and (type(id_shop) is not int or id_shop < 1):
        raise InvalidCatalog(f"id_shop {id_shop!r:.30}: a shop id >= 1 (multistore), or none")
    if type(language_id) is not int or language_id < 1:
        raise InvalidCatalog(f"language_id {language_id!r:.30}: a language id >= 1")
