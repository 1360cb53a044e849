"""The fake shop's data, faults and request log, shared by the HTTP handlers (uvicorn's
thread) and the test or demo that drives it (its own thread): every access takes the lock.

Objects are kept in the shape the Webservice's JSON output gives them. A fresh shop has the
default install's categories 1 (Root) and 2 (Home) and one language (id 1).
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from conveyor_commerce.sandbox.prestashop.resources import (
    SPECS,
    Refused,
    blank_of,
    check,
    normalized,
)

DEFAULT_KEY = "SANDBOXKEY0000000000000000000001"
"""A 32-character key the CLI-served sandbox accepts by default."""


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    """One request the shop answered, in arrival order (`seq`); `item` is the object id
    (the new one for a POST), `parent` a category's `id_parent`."""

    seq: int
    at: float
    method: str
    resource: str
    item: int | None
    status: int
    reference: str = ""
    parent: int | None = None


@dataclasses.dataclass(slots=True)
class Fault:
    """Answer the next `times` matching requests with `status` (500, 503, 429, ...); with
    `after_write`, only after carrying the request out (an answer lost on its way back)."""

    status: int
    times: int
    retry_after: float = 1.0
    method: str | None = None
    resource: str | None = None
    after_write: bool = False


class ShopState:
    def __init__(self, keys: Iterable[str] = (DEFAULT_KEY,)) -> None:
        self.lock = threading.Lock()
        self.keys = set(keys)
        self.latency = 0.0
        self.faults: list[Fault] = []
        self.rejected: set[str] = set()
        self._log: list[Request] = []
        self._seq = itertools.count(1)
        self.objects: dict[str, dict[int, dict[str, Any]]] = {}
        self._ids: dict[str, itertools.count[int]] = {}
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.objects = {name: {} for name in SPECS}
            self._ids = {name: itertools.count(1) for name in SPECS}
            self.faults, self.rejected, self._log, self.latency = [], set(), [], 0.0
            for name, parent in (("Root", 0), ("Home", 1)):
                self._insert("categories", {
                    "id_parent": str(parent), "active": "1", "name": _lang(name),
                    "link_rewrite": _lang(name.lower())})

    # -- driving the shop (tests, demo) ------------------------------------------------

    def inject(self, status: int, times: int = 1, *, retry_after: float = 1.0,
               method: str | None = None, resource: str | None = None,
               after_write: bool = False) -> None:
        with self.lock:
            self.faults.append(Fault(status, times, retry_after, method, resource,
                                     after_write))

    def reject(self, references: Iterable[str]) -> None:
        """Writes of products with these references get 400 code 85 (invalid price)."""
        with self.lock:
            self.rejected.update(references)

    def edit(self, resource: str, item: int, changes: Mapping[str, Any]) -> None:
        """Change an object as a merchant would in the back office."""
        with self.lock:
            found = self.objects[resource][item]
            found.update(normalized(resource, dict(changes)))
            if "date_upd" in SPECS[resource].fields:
                found["date_upd"] = _now()

    def delete(self, resource: str, item: int) -> None:
        with self.lock:
            self.objects[resource].pop(item, None)

    def log(self) -> list[Request]:
        with self.lock:
            return list(self._log)

    def writes(self, resource: str | None = None) -> list[Request]:
        """The accepted POST and PUT requests (of one resource)."""
        return [r for r in self.log() if r.method in ("POST", "PUT") and r.status < 300
                and resource in (None, r.resource)]

    def find(self, resource: str, **filters: str) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(o) for o in self.objects[resource].values()
                    if all(str(o.get(k, "")).lower() == v.lower() for k, v in filters.items())]

    # -- the Webservice's verbs (called by the HTTP app) -------------------------------

    def fault_for(self, method: str, resource: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.method in (None, method) \
                        and fault.resource in (None, resource):
                    fault.times -= 1
                    return fault
            return None

    def record(self, method: str, resource: str, item: int | None, status: int,
               fields: Mapping[str, Any] | None = None) -> None:
        fields = fields or {}
        parent = str(fields.get("id_parent") or "")
        with self.lock:
            self._log.append(Request(
                next(self._seq), time.monotonic(), method, resource, item, status,
                str(fields.get("reference") or ""),
                int(parent) if resource == "categories" and parent.isdigit()
                else None))

    def get(self, resource: str, item: int) -> dict[str, Any]:
        with self.lock:
            found = self.objects[resource].get(item)
            if found is None:
                raise Refused(404, 87, f"Id(s) not exists: {item}")
            return dict(found)

    def create(self, resource: str, fields: dict[str, Any]) -> dict[str, Any]:
        if "id" in fields:
            raise Refused(400, 91, "id is forbidden when adding a new resource")
        with self.lock:
            self._validate(resource, fields)
            return dict(self._insert(resource, fields))

    def replace(self, resource: str, item: int, fields: dict[str, Any]) -> dict[str, Any]:
        """PUT: the body is the whole object; omitted fields are blanked."""
        given = fields.get("id")
        if not given:
            raise Refused(400, 90, "id is required when modifying a resource")
        if str(given) != str(item):
            raise Refused(400, 89, "id is duplicate in request")
        with self.lock:
            current = self.objects[resource].get(item)
            if current is None:
                raise Refused(404, 92, f"Id(s) not exists: {item}")
            self._validate(resource, fields)
            spec = SPECS[resource]
            kept = {name: current[name] for name in spec.read_only | {"date_add"}
                    if name in current}
            replaced = {name: fields.get(name, blank_of(resource, name))
                        for name in spec.fields if name not in spec.read_only}
            replaced = {**normalized(resource, replaced), **kept, "id": item}
            if "date_upd" in spec.fields:
                replaced["date_upd"] = _now()
            if resource == "products":
                replaced["associations"] = {**(current.get("associations") or {}),
                                            **(fields.get("associations") or {})}
            elif resource == "stock_availables":
                self._set_quantity(replaced)
            self.objects[resource][item] = replaced
            return dict(replaced)

    def _validate(self, resource: str, fields: dict[str, Any]) -> None:
        spec = SPECS[resource]
        for name in fields:
            if name in spec.read_only:
                raise Refused(400, 93, f'parameter "{name}" not writable. Please remove this '
                              "attribute of this XML")
            if name not in spec.fields:
                raise Refused(400, 85, f'Validation error: "{spec.entity}->{name}" does not '
                              "exist")
        check(resource, fields)
        if resource == "products" and str(fields.get("reference") or "") in self.rejected:
            raise Refused(400, 85, 'Validation error: "Property Product->price is not valid"')
        categories = self.objects["categories"]
        parent = fields.get("id_parent")
        if resource == "categories" and parent not in (None, "") \
                and int(parent) not in categories:
            raise Refused(400, 86, f"Parent category {parent} does not exist")
        linked = [fields.get("id_category_default")] + [
            item.get("id") for item in (fields.get("associations") or {}).get("categories", [])]
        if resource == "products" and any(
                value not in (None, "") and (not str(value).isdigit()
                                             or int(value) not in categories)
                for value in linked):
            raise Refused(400, 86, "Product category association: a category does not exist")

    def _insert(self, resource: str, fields: dict[str, Any]) -> dict[str, Any]:
        item = next(self._ids[resource])
        spec = SPECS[resource]
        stored = {name: fields.get(name, blank_of(resource, name)) for name in spec.fields}
        stored = {**normalized(resource, stored), "id": item, "date_add": _now(),
                  "date_upd": _now()}
        if resource == "categories":
            parent = self.objects["categories"].get(int(stored["id_parent"] or 0))
            stored["level_depth"] = str(int(parent["level_depth"]) + 1) if parent else "0"
            stored["nb_products_recursive"] = "0"
        elif resource == "products":
            stored["quantity"], stored["manufacturer_name"] = "0", ""
            stock = next(self._ids["stock_availables"])
            self.objects["stock_availables"][stock] = {
                "id": stock, "id_product": str(item), "id_product_attribute": "0",
                "id_shop": "1", "id_shop_group": "0", "quantity": "0",
                "depends_on_stock": "0", "out_of_stock": "2", "location": ""}
            stored["associations"] = {**(fields.get("associations") or {}),
                                      "stock_availables": [{"id": str(stock),
                                                            "id_product_attribute": "0"}]}
        self.objects[resource][item] = stored
        return stored

    def _set_quantity(self, stock: dict[str, Any]) -> None:
        product = self.objects["products"].get(int(stock.get("id_product") or 0))
        if product is not None:
            product["quantity"] = str(stock.get("quantity") or "0")


def _lang(value: str) -> list[dict[str, str]]:
    return [{"id": "1", "value": value}]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
