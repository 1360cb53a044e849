"""Async client for the PrestaShop Webservice (`../shared/APIS.md` section 2).

- Auth: the API key is the HTTP Basic user with an empty password (never `?ws_key=`, which
  would put the key in every logged URL). The key is a `vault.Secret`, revealed only into the
  Authorization header; it never appears in a URL, an exception or a log line.
- Reads ask for JSON (`output_format=JSON`) and accept both shapes of an empty list (`[]`, as
  1.7 shops send, or `{"products": []}`). Writes send XML, the only input core accepts.
- `update` is read-modify-write: PUT replaces the whole object (omitted fields are blanked),
  so the current object is read in full, read-only fields are dropped, the changes applied
  and the whole object sent back.
- Failures raise `ShopError` with the shop's own message and the `codes` rule that decides
  what happens next (retry, throttle with `retry_after`, or discard).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import httpcore._backends.anyio  # noqa: F401  # httpcore imports it on the first request
import httpx
import orjson

from conveyor_commerce.prestashop import codes, xmlio
from conveyor_commerce.vault import Secret

USER_AGENT = "conveyor-commerce/0.1.0"
READ_ONLY: Mapping[str, frozenset[str]] = {
    "products": frozenset({"manufacturer_name", "quantity", "position_in_category",
                           "date_add", "date_upd"}),
    "categories": frozenset({"level_depth", "nb_products_recursive", "date_add", "date_upd"}),
    "stock_availables": frozenset(),
}
"""Fields a shop returns but refuses in a PUT (code 93), dropped before writing back."""
RESOURCES = frozenset(READ_ONLY)
_FILTER_UNSAFE = re.compile(r"[\[\]|,%!<>]")


class ShopError(Exception):
    """A request that failed: `status` (0: no answer), the shop's `code` and `message`, the
    `rule` that says what to do, and `retry_after` seconds for a throttle."""

    def __init__(self, status: int, message: str, code: int | None = None,
                 retry_after: float | None = None) -> None:
        self.status, self.code, self.message = status, code, message
        self.retry_after = retry_after
        self.rule = codes.NETWORK if status == 0 else codes.rule_for(status, code)
        prefix = "no answer" if status == 0 else f"HTTP {status}"
        super().__init__(f"{prefix}{f' code {code}' if code is not None else ''}: {message}")


@dataclasses.dataclass(frozen=True, slots=True)
class Endpoint:
    """One shop's Webservice: `base_url` is the shop's root (`https://shop.example`), the
    API lives under `/api/`."""

    base_url: str
    key: Secret
    id_shop: int | None = None

    def url(self, resource: str, item: int | None = None) -> str:
        root = self.base_url.rstrip("/")
        return f"{root}/api/{resource}" + (f"/{item}" if item is not None else "")


def timeouts(read: float = 30.0) -> httpx.Timeout:
    return httpx.Timeout(connect=5.0, read=read, write=10.0, pool=10.0)


def check_reference(reference: str) -> str:
    """A reference usable in `filter[reference]`: the filter grammar gives `[ ] | , % ! < >`
    meanings, so a reference holding them cannot be looked up and is refused."""
    if _FILTER_UNSAFE.search(reference):
        raise ValueError(f"reference {reference!r:.70} holds one of [ ] | , % ! < >, which "
                         "PrestaShop's filters give a meaning to")
    return reference


class Client:
    """The Webservice of one shop over a shared `httpx.AsyncClient`."""

    def __init__(self, http: httpx.AsyncClient, endpoint: Endpoint) -> None:
        self.http, self.endpoint = http, endpoint

    async def get(self, resource: str, item: int) -> dict[str, Any]:
        """The whole object, e.g. `get("products", 12)`."""
        data = await self._send("GET", resource, item)
        return _one(data, resource)

    async def find(self, resource: str, filters: Mapping[str, str | int],
                   display: str = "full", limit: int | None = None) -> list[dict[str, Any]]:
        """Objects matching literal filters, e.g. `find("products", {"reference": "SKU-1"})`
        (several may match: references are not unique in PrestaShop)."""
        params = {f"filter[{name}]": f"[{value}]" for name, value in filters.items()}
        params["display"] = display
        if limit is not None:
            params["limit"] = str(limit)
        return _many(await self._send("GET", resource, params=params), resource)

    async def create(self, resource: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """POST a new object (no `id`); returns it as the shop stored it."""
        body = {name: value for name, value in fields.items() if name != "id"}
        data = await self._send("POST", resource, body=xmlio.dumps(resource, body))
        return _one(data, resource)

    async def update(self, resource: str, item: int, changes: Mapping[str, Any],
                     current: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Read-modify-write: the whole object (`current`, else read now) with `changes`,
        without its read-only fields, PUT back."""
        base = dict(current) if current is not None else await self.get(resource, item)
        merged = {name: value for name, value in base.items()
                  if name not in READ_ONLY.get(resource, frozenset())}
        merged.update(changes)
        merged["id"] = str(item)
        merged = {"id": merged.pop("id"), **merged}
        data = await self._send("PUT", resource, item, body=xmlio.dumps(resource, merged))
        return _one(data, resource)

    async def _send(self, method: str, resource: str, item: int | None = None, *,
                    params: dict[str, str] | None = None, body: bytes | None = None) -> Any:
        if resource not in RESOURCES:
            raise ValueError(f"resource {resource!r} is not one the kit syncs")
        query = {"output_format": "JSON", **(params or {})}
        if self.endpoint.id_shop is not None:
            query["id_shop"] = str(self.endpoint.id_shop)
        headers = {"User-Agent": USER_AGENT, "Output-Format": "JSON"}
        if body is not None:
            headers["Content-Type"] = "application/xml"
        try:
            response = await self.http.request(
                method, self.endpoint.url(resource, item), params=query, content=body,
                headers=headers, auth=httpx.BasicAuth(self.endpoint.key.reveal(), ""))
        except httpx.TimeoutException as exc:
            raise ShopError(0, f"{type(exc).__name__}: the shop did not answer in time") \
                from None
        except httpx.TransportError as exc:
            raise ShopError(0, f"{type(exc).__name__}: the connection failed") from None
        if response.status_code >= 400:
            raise _error(response)
        return _decode(response, resource)


def _decode(response: httpx.Response, resource: str) -> Any:
    kind = response.headers.get("content-type", "")
    if "json" in kind or response.content[:1] in (b"{", b"["):
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise ShopError(502, "the shop answered with malformed JSON") from None
    try:
        return {xmlio.singular(resource): xmlio.loads(response.content, resource)}
    except xmlio.XmlError as exc:
        raise ShopError(502, f"the shop answered with neither JSON nor its XML: {exc}") \
            from None


def _one(data: Any, resource: str) -> dict[str, Any]:
    found = data.get(xmlio.singular(resource)) if isinstance(data, dict) else None
    if not isinstance(found, dict):
        raise ShopError(502, f"the answer holds no {xmlio.singular(resource)}")
    return found


def _many(data: Any, resource: str) -> list[dict[str, Any]]:
    if isinstance(data, list) and not data:  # 1.7's empty list (PrestaShop#10172)
        return []
    found = data.get(resource) if isinstance(data, dict) else None
    if found is None and isinstance(data, dict) and not data:
        return []
    if not isinstance(found, list):
        raise ShopError(502, f"the answer holds no {resource} list")
    return [item for item in found if isinstance(item, dict)]


def _error(response: httpx.Response) -> ShopError:
    found: list[tuple[int | None, str]] = []
    try:
        data = orjson.loads(response.content)
        found = [(item.get("code") if isinstance(item.get("code"), int) else None,
                  str(item.get("message", ""))) for item in data.get("errors", [])]
    except (orjson.JSONDecodeError, AttributeError, TypeError):
        found = xmlio.errors(response.content)
    code, message = found[0] if found else (None, response.reason_phrase or "error")
    return ShopError(response.status_code, message[:1000], code,
                     _retry_after(response) if response.status_code == 429 else None)


def _retry_after(response: httpx.Response) -> float:
    """Seconds from `Retry-After` (delta seconds; an HTTP date or nothing: 60 s)."""
    raw = response.headers.get("retry-after", "").strip()
    try:
        return max(0.0, min(float(raw), 3600.0))
    except ValueError:
        return 60.0
