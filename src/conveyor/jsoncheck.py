"""Which values are stored: JSON types only, by exact type, and where one that is not sits.

orjson encodes more than JSON: UUIDs and enums as their text or value, NaN and infinities as
`null`. Stored that way a value would come back as something else (a UUID as a str, an enum
as a plain int, NaN as None), while datetimes and Decimals were refused - two rules for one
question. The one rule: str, int (64-bit), float (finite), bool, None, list and dict with str
keys, by exact type - plus tuples, stored as lists. Everything else is refused, in arguments,
results and metadata alike, with the path to the first such value and its type, so the
caller knows what to convert.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import math
import uuid
from typing import Any

MAX_DEPTH = 250
"""Deeper values are refused (orjson stops at 255 levels; a value containing itself never
ends)."""
RULE = "only JSON types are stored: str, int, float, bool, None, list or tuple, dict with str keys"
_PLAIN = frozenset({str, bool, type(None)})
_EXACT = frozenset({str, int, bool, type(None)})
"""Scalars that need no further look (ints are in range once orjson has encoded them)."""
_KEYS = frozenset({str})
_HINTS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (enum.Enum, "its .value"), ((datetime.date, datetime.time), "value.isoformat()"),
    ((uuid.UUID, decimal.Decimal), "str(value)"), ((set, frozenset), "sorted(value)"),
    ((bytes, bytearray, memoryview), "base64 or hex text"),
)
Node = tuple[Any, Any]
"""(parent node, key or index): the path to a value, spelled out only when it is reported."""


def is_exact(value: Any) -> bool:
    """Whether `value` holds JSON types only (a fast yes/no; `problem` says what and where).
    Containers of plain scalars are checked at C speed (`issuperset` over their types)."""
    kind = type(value)
    items: Any
    if kind is list or kind is tuple:
        items = value
    elif kind is dict:
        if not _KEYS.issuperset(map(type, value)):
            return False
        items = value.values()
    else:
        return kind in _EXACT or (kind is float and math.isfinite(value))
    return _EXACT.issuperset(map(type, items)) or all(map(is_exact, items))


def problem(value: Any) -> str | None:
    """Why `value` cannot be stored - where and what the first offending item is - or None."""
    stack: list[tuple[Any, Node | None, int]] = [(value, None, 0)]
    while stack:
        item, node, depth = stack.pop()
        kind = type(item)
        if kind in _PLAIN:
            continue
        if kind is int:
            if -(2**63) <= item < 2**64:
                continue
            return f"{_where(node)} is an integer beyond 64 bits"
        if kind is float:
            if math.isfinite(item):
                continue
            return f"{_where(node)} is {item!r}; NaN and infinity are not JSON numbers"
        if depth >= MAX_DEPTH and kind in (list, tuple, dict):
            return f"{_where(node)} is nested more than {MAX_DEPTH} levels deep"
        if kind is list or kind is tuple:
            stack.extend((child, (node, index), depth + 1)
                         for index, child in reversed(list(enumerate(item))))
        elif kind is dict:
            for key in item:
                if type(key) is not str:
                    return (f"{_where(node)} has the key {key!r:.40} ({type(key).__name__}); "
                            "JSON object keys are str")
            stack.extend((child, (node, key), depth + 1)
                         for key, child in reversed(item.items()))
        else:
            return f"{_where(node)} is {_kind(item)}; {RULE}{_hint(item)}"
    return None


def _where(node: Node | None) -> str:
    steps: list[str] = []
    while node is not None:
        node, step = node
        steps.append(f"[{step!r}]")
    return "".join(reversed(steps)) if steps else "the value"


def _kind(item: Any) -> str:
    kind = type(item)
    name = kind.__qualname__ if kind.__module__ == "builtins" else \
        f"{kind.__module__}.{kind.__qualname__}"
    base = next((b for b in (str, int, float, list, dict) if isinstance(item, b)), None)
    if base is not None and not isinstance(item, enum.Enum):
        return f"a {name} (a subclass of {base.__name__})"
    return f"a {name}"


def _hint(item: Any) -> str:
    if dataclasses.is_dataclass(item):
        return "; convert it first, e.g. dataclasses.asdict(value)"
    for kinds, hint in _HINTS:
        if isinstance(item, kinds):
            return f"; convert it first, e.g. {hint}"
    return ""
