"""What the fake Webservice knows of each resource: its fields, which are multilingual,
required or read-only, and how each field is checked - after PrestaShop's WS field tables
(`../shared/APIS.md` 2.4, 2.5, 2.7) - with the error codes a real shop answers."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any


class Refused(Exception):
    """An error answer: HTTP status, Webservice code and message."""

    def __init__(self, status: int, code: int, message: str,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = dict(headers or {})


@dataclasses.dataclass(frozen=True, slots=True)
class Spec:
    entity: str
    fields: tuple[str, ...]
    multilang: frozenset[str]
    required: frozenset[str]
    read_only: frozenset[str]


SPECS: Mapping[str, Spec] = {
    "products": Spec(
        "Product",
        ("id", "id_category_default", "id_tax_rules_group", "reference", "ean13", "price",
         "active", "state", "product_type", "quantity", "manufacturer_name", "date_add",
         "date_upd", "name", "link_rewrite", "description", "description_short",
         "associations"),
        frozenset({"name", "link_rewrite", "description", "description_short"}),
        frozenset({"price"}), frozenset({"quantity", "manufacturer_name"})),
    "categories": Spec(
        "Category",
        ("id", "id_parent", "level_depth", "nb_products_recursive", "active", "date_add",
         "date_upd", "name", "link_rewrite", "description", "associations"),
        frozenset({"name", "link_rewrite", "description"}),
        frozenset({"active", "name", "link_rewrite"}),
        frozenset({"level_depth", "nb_products_recursive"})),
    "stock_availables": Spec(
        "StockAvailable",
        ("id", "id_product", "id_product_attribute", "id_shop", "id_shop_group", "quantity",
         "depends_on_stock", "out_of_stock", "location"),
        frozenset(), frozenset({"id_product", "id_product_attribute", "quantity",
                                "depends_on_stock", "out_of_stock"}),
        frozenset()),
}

_CATALOG_NAME = re.compile(r"^[^<>;=#{}]*$")
_LINK_REWRITE = re.compile(r"^[_a-zA-Z0-9\-]+$")
_REFERENCE = re.compile(r"^[^<>;={}]*$")
_INT = re.compile(r"^-?[0-9]+$")


def check(resource: str, fields: dict[str, Any]) -> None:
    """Raise `Refused` (400, code 41/84/85) for a missing or invalid field."""
    spec = SPECS[resource]
    for name in sorted(spec.required):
        if _blank(fields.get(name)):
            code = 84 if name in spec.multilang else 41
            raise Refused(400, code, f'Validation error: "Property {spec.entity}->{name} is '
                          'empty."')
    price = fields.get("price")
    if price not in (None, ""):
        try:
            if Decimal(str(price)) < 0 or not Decimal(str(price)).is_finite():
                raise InvalidOperation
        except InvalidOperation:
            raise _invalid(spec, "price") from None
    reference = str(fields.get("reference") or "")
    if len(reference) > 64 or not _REFERENCE.match(reference):
        raise _invalid(spec, "reference")
    for name in ("name",):
        for entry in fields.get(name) or []:
            value = str(entry.get("value") or "")
            if len(value) > 128 or not _CATALOG_NAME.match(value):
                raise _invalid(spec, name)
    for entry in fields.get("link_rewrite") or []:
        value = str(entry.get("value") or "")
        if value and (len(value) > 128 or not _LINK_REWRITE.match(value)):
            raise _invalid(spec, "link_rewrite")
    for name in ("quantity", "id_parent", "id_category_default", "id_product"):
        number = fields.get(name)
        if number not in (None, "") and not _INT.match(str(number)):
            raise _invalid(spec, name)


def _invalid(spec: Spec, name: str) -> Refused:
    return Refused(400, 85, f'Validation error: "Property {spec.entity}->{name} is not '
                   'valid"')


def _blank(value: Any) -> bool:
    if isinstance(value, list):
        return not any(str(entry.get("value") or "").strip() for entry in value)
    return value is None or str(value).strip() == ""


def blank_of(resource: str, name: str) -> Any:
    """What PUT leaves in a field the body omitted."""
    if name in SPECS[resource].multilang:
        return [{"id": "1", "value": ""}]
    return {} if name == "associations" else ""


def normalized(resource: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Values as the shop stores and returns them (prices with six decimals)."""
    found = dict(fields)
    if found.get("price") not in (None, ""):
        found["price"] = f"{Decimal(str(found['price'])):.6f}"
    return found
