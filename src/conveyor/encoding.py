"""Strict JSON for everything Conveyor stores: arguments, results, errors. Never pickle.

orjson rejects sets, arbitrary objects and non-string keys, but silently writes NaN and
infinities as `null`, UUIDs as strings and enums as their values; a second check
(`jsoncheck`) catches those so a value is either stored exactly as given or refused with a
message that says where and why. One conversion is accepted: tuples become lists. Strings
holding NUL are refused too: PostgreSQL cannot store them, and both backends must take the
same values.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import orjson

from conveyor import errors, jsoncheck

# Datetimes and dataclasses would not round-trip to the same type: pass them through to
# `default`, which refuses them (`jsoncheck` finds what orjson encodes anyway).
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_NUL_ESCAPE = re.compile(rb"(?:^|[^\\])(?:\\\\)*\\u0000")


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON ({value!r:.60})")


def dumps(value: Any, *, what: str, limit: int | None = None) -> str:
    """Encode `value` as JSON text or raise `Unserializable` / `PayloadTooLarge`.

    `what` names the value in errors, e.g. "arguments of job 'sync_product'".
    """
    try:
        data = orjson.dumps(value, default=_refuse, option=_OPTIONS)
    except TypeError as exc:
        raise errors.Unserializable(
            f"{what} cannot be stored as JSON: {jsoncheck.problem(value) or exc}") from None
    if b"\\u0000" in data:
        _reject_nul(data, what)
    if limit is not None and len(data) > limit:
        raise errors.PayloadTooLarge(
            f"{what}: {len(data)} bytes as JSON, over the limit of {limit} bytes"
        )
    if not jsoncheck.is_exact(value) and (problem := jsoncheck.problem(value)) is not None:
        raise errors.Unserializable(f"{what} cannot be stored as JSON: {problem}")
    return data.decode()


def quick(value: Any, limit: int) -> str | None:
    """`value` as JSON text when it plainly may be stored (JSON types only, no NUL, within
    `limit` bytes), else None: then `dumps` encodes it or says why not. A bulk enqueue
    encodes every row this way, with no error message built in advance."""
    try:
        data = orjson.dumps(value, default=_refuse, option=_OPTIONS)
    except TypeError:
        return None
    if len(data) > limit or b"\\u0000" in data or not jsoncheck.is_exact(value):
        return None
    return data.decode()


def _reject_nul(data: bytes, what: str) -> None:
    """PostgreSQL cannot store the NUL character in JSON (or text), so no backend takes it.
    `\\u0000` in the output is a NUL unless its backslash is itself escaped."""
    if _NUL_ESCAPE.search(data):
        raise errors.Unserializable(
            f"{what} cannot be stored: a string in it contains the NUL character (\\x00), "
            "which PostgreSQL cannot store")


def loads(text: str | bytes | None) -> Any:
    """Decode JSON text; None stays None. Raises `MalformedJob` for undecodable text."""
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise errors.MalformedJob(f"stored JSON cannot be decoded: {exc}") from None


def meta_with_dependencies(meta_json: str, depends_on: Sequence[int]) -> str:
    """A job's meta as stored once it waits for `depends_on` (each id once, in order): the
    insert writes it, and the job an enqueue returns reads the same."""
    ids = list(dict.fromkeys(depends_on))
    return dumps({**loads(meta_json), "depends_on": ids}, what="job meta")
