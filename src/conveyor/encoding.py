"""Strict JSON for everything Conveyor stores: arguments, results, errors. Never pickle.

orjson rejects sets, arbitrary objects and non-string keys, but silently writes NaN and
infinities as `null`; a cheap second check catches those so a value is either stored exactly
as given or refused with a message that says where and why. Two conversions are accepted
because their text form is unambiguous: tuples become lists and UUIDs become strings.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from conveyor import errors

# Datetimes, dataclasses, UUIDs and numpy values would not round-trip to the same type:
# pass them through to `default`, which refuses them.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON ({value!r:.60})")


def dumps(value: Any, *, what: str, limit: int | None = None) -> str:
    """Encode `value` as JSON text or raise `Unserializable` / `PayloadTooLarge`.

    `what` names the value in errors, e.g. "arguments of job 'sync_product'".
    """
    try:
        data = orjson.dumps(value, default=_refuse, option=_OPTIONS)
    except TypeError as exc:
        raise errors.Unserializable(f"{what} cannot be stored as JSON: {exc}") from None
    if b"null" in data:
        _reject_non_finite(value, what)
    if limit is not None and len(data) > limit:
        raise errors.PayloadTooLarge(
            f"{what}: {len(data)} bytes as JSON, over the limit of {limit} bytes"
        )
    return data.decode()


def _reject_non_finite(value: Any, what: str) -> None:
    """`null` in the output is either None or a NaN/inf orjson replaced; tell them apart."""
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        raise errors.Unserializable(
            f"{what} cannot be stored as JSON: NaN and infinity are not JSON numbers"
        ) from None


def loads(text: str | bytes | None) -> Any:
    """Decode JSON text; None stays None. Raises `MalformedJob` for undecodable text."""
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise errors.MalformedJob(f"stored JSON cannot be decoded: {exc}") from None
