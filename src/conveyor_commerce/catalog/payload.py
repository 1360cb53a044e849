"""What a product or category looks like to a shop: the Webservice fields the kit writes, and
the few it compares (`comparable`) to tell "the shop already holds this" (no write) from "the
shop's copy changed since our last sync" (a conflict). Hashes are over those compared values,
normalised the way a shop returns them (prices as decimals, one language)."""

from __future__ import annotations

import hashlib
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from conveyor_commerce.catalog.model import Category, Product
from conveyor_commerce.catalog.store import slug


def _lang(language_id: int, value: str) -> list[dict[str, Any]]:
    return [{"id": str(language_id), "value": value}]


def product_fields(product: Product, category_id: int, language_id: int) -> dict[str, Any]:
    """The fields of a new product (POST), or the changes to an existing one (PUT)."""
    return {"reference": product.reference, "price": product.price,
            "id_category_default": category_id, "active": int(product.active), "state": 1,
            "product_type": "standard", "name": _lang(language_id, product.name),
            "link_rewrite": _lang(language_id, slug(product.name)),
            "associations": {"categories": [{"id": str(category_id)}]}}


def category_fields(category: Category, parent_id: int, language_id: int) -> dict[str, Any]:
    return {"id_parent": parent_id, "active": int(category.active),
            "name": _lang(language_id, category.name),
            "link_rewrite": _lang(language_id, category.link_rewrite)}


def comparable(fields: dict[str, Any], language_id: int) -> dict[str, str]:
    """The compared values of a product, ours (from `product_fields`) or the shop's."""
    return {"reference": str(fields.get("reference") or ""),
            "name": text_of(fields.get("name"), language_id),
            "price": _decimal(fields.get("price")),
            "category": str(fields.get("id_category_default") or ""),
            "active": str(fields.get("active") or "0")}


def content_hash(values: dict[str, str]) -> str:
    return hashlib.sha256(orjson.dumps(values, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def text_of(value: Any, language_id: int) -> str:
    """A multilingual field's text in one language: JSON gives `[{"id", "value"}]`, or a
    bare string when the shop has one language."""
    if isinstance(value, list):
        for entry in value:
            if isinstance(entry, dict) and str(entry.get("id")) == str(language_id):
                return str(entry.get("value") or "")
        return ""
    return "" if value is None else str(value)


def _decimal(value: Any) -> str:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return format(number.normalize(), "f") if number.is_finite() else str(value)
