"""Describe whatever a job raised as an error entry that can always be stored.

Job code can raise anything: exceptions whose `__str__` or `__repr__` raise, `BaseException`
subclasses, messages holding NUL characters (PostgreSQL's JSON cannot) or lone surrogates
(not UTF-8). An attempt must end with a stored outcome whatever it raised, so nothing here
raises: each step has a plain fallback, and every text is made storable first.
"""

from __future__ import annotations

import traceback
from datetime import datetime

from conveyor import encoding, model


def storable(text: str) -> str:
    """`text` with what cannot be stored made visible: NUL as `\\x00`, a lone surrogate as
    `\\udXXX`."""
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def type_of(exc: BaseException) -> str:
    return storable(type(exc).__name__)


def message_of(exc: BaseException) -> str:
    """`str(exc)`; its `repr` when `__str__` raises; a note when both do."""
    for render in (str, repr):
        try:
            return storable(render(exc))
        except BaseException:  # a broken __str__ may raise anything; the job's own fault
            continue
    return f"<{type_of(exc)} whose str() and repr() both raised>"


def traceback_of(exc: BaseException) -> str:
    try:
        return storable("".join(traceback.format_exception(exc)))
    except BaseException:
        return f"{type_of(exc)}: {message_of(exc)} (the traceback could not be formatted)"


def clipped(message: str, limit: int) -> str:
    """A message as logged: one bounded line (the full one is on the job)."""
    line = " ".join(message[: limit + 1].split())
    return line if len(line) <= limit else f"{line[:limit]}... ({len(message)} characters)"


def error_json(attempt: int, at: datetime, kind: str, message: str, trace: str,
               limit: int) -> str:
    """One stored error entry; `limit` bounds message (a quarter) and traceback (a half)."""
    entry = model.JobError(attempt=attempt, at=at, type=storable(kind),
                           message=storable(message)[: limit // 4],
                           traceback=storable(trace)[-(limit // 2):])
    try:
        return encoding.dumps(entry.to_json(), what="error")
    except Exception:  # cannot happen for storable text; keep the attempt's end storable
        return plain_error_json(attempt, at, kind, "the error could not be encoded")


def plain_error_json(attempt: int, at: datetime, kind: str, message: str) -> str:
    """An error entry built from ASCII-only text: always storable."""
    entry = model.JobError(attempt=attempt, at=at, type=_ascii(kind), message=_ascii(message))
    return encoding.dumps(entry.to_json(), what="error")


def _ascii(text: str) -> str:
    return storable(text).encode("ascii", "backslashreplace").decode("ascii")
