"""The job filter as it lives in the URL: parsed from the query string (or a form that carries
the same fields), validated, and turned into a `JobFilter` for the operator API.

Bad values never reach the API: each becomes a message shown above the list (escaped like
everything else) and the field is ignored. Sizes are bounded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import FormData, ImmutableMultiDict, QueryParams

from conveyor import model
from conveyor.backends.base import JobFilter
from conveyor.listing import Order

MAX_VALUES, MAX_TEXT = 20, 500
PAGE_SIZES = (25, 50, 100, 200)
ORDERS = ("newest", "oldest")
FIELDS = ("state", "queue", "name", "text", "since", "until", "order")

Params = QueryParams | FormData | ImmutableMultiDict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class JobQuery:
    """What the jobs page was asked for, as typed (for the form) and as parsed."""

    states: tuple[model.JobState, ...] = ()
    queues: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    text: str = ""
    since: str = ""
    until: str = ""
    order: Order = "newest"
    cursor: str | None = None
    limit: int = 50
    errors: tuple[str, ...] = ()
    parsed: JobFilter = dataclasses.field(default_factory=JobFilter)

    def params(self, **changes: Any) -> dict[str, Any]:
        """The query string of this view (without the cursor unless given)."""
        values: dict[str, Any] = {
            "state": [s.value for s in self.states], "queue": list(self.queues),
            "name": list(self.names), "text": self.text, "since": self.since,
            "until": self.until, "order": None if self.order == "newest" else self.order,
            "limit": None if self.limit == 50 else self.limit}
        values.update(changes)
        return values

    @property
    def is_filtered(self) -> bool:
        return bool(self.states or self.queues or self.names or self.text or self.since
                    or self.until)

    @property
    def searches(self) -> bool:
        """Whether pages scan (argument text or times): they may come back short."""
        return bool(self.text or self.since or self.until)

    def describe(self) -> str:
        parts = [f"{label} {', '.join(values)}" for label, values in (
            ("state", [s.value for s in self.states]), ("queue", self.queues),
            ("name", self.names)) if values]
        parts += [f"{label} {value}" for label, value in (
            ("arguments containing", repr(self.text) if self.text else ""),
            ("enqueued since", self.since),
            ("enqueued before", self.until)) if value]
        return "; ".join(parts) or "all jobs"


def parse(params: Params) -> JobQuery:
    errors: list[str] = []
    states = tuple(_states(_many(params, "state"), errors))
    queues, names = tuple(_many(params, "queue")), tuple(_many(params, "name"))
    text = _one(params, "text")
    if "\x00" in text:
        errors.append("the argument text must not contain NUL; ignored")
        text = ""
    since, until = _one(params, "since"), _one(params, "until")
    after, before = form_time(since, "since", errors), form_time(until, "until", errors)
    typed = _one(params, "order") or "newest"
    if typed not in ORDERS:
        errors.append(f"order must be newest or oldest, not {typed!r}")
    order: Order = "oldest" if typed == "oldest" else "newest"
    parsed = JobFilter(states=states, queues=queues, names=names, text=text or None,
                       inserted_after=after, inserted_before=before)
    return JobQuery(states=states, queues=queues, names=names, text=text, since=since,
                    until=until, order=order, cursor=_one(params, "cursor") or None,
                    limit=_limit(_one(params, "limit"), errors), errors=tuple(errors),
                    parsed=parsed)


def _many(params: Params, key: str) -> list[str]:
    values = [str(v).strip()[:MAX_TEXT] for v in params.getlist(key)][:MAX_VALUES]
    return [v for v in values if v]


def _one(params: Params, key: str) -> str:
    value = params.get(key)
    return str(value).strip()[:MAX_TEXT] if value is not None else ""


def _states(values: Sequence[str], errors: list[str]) -> list[model.JobState]:
    found = []
    for value in values:
        try:
            found.append(model.JobState(value))
        except ValueError:
            errors.append(f"unknown state {value!r} ignored")
    return found


def form_time(text: str, label: str, errors: list[str]) -> datetime | None:
    """A filter form's time (UTC unless it carries an offset); None, with a message in
    `errors`, when it cannot be read. The commerce message filters read theirs with it."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        errors.append(f"{label} {text!r} ignored: use 2026-05-01T09:00 (UTC) or an ISO time "
                      "with an offset")
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _limit(text: str, errors: list[str]) -> int:
    if not text:
        return 50
    if text.isdigit() and int(text) in PAGE_SIZES:
        return int(text)
    errors.append(f"page size {text!r} ignored: choose one of {PAGE_SIZES}")
    return 50
