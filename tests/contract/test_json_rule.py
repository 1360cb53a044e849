"""One rule for what is stored, on every backend: JSON types only. A UUID, an enum, a
datetime or a Decimal is refused alike - in arguments, keyword arguments, cron arguments,
batch calls and results - naming where it is and its type; nothing is written."""

from __future__ import annotations

import datetime
import decimal
import enum
import uuid
from typing import Any

import pytest

from conveyor import Conveyor, JobState, Unserializable


class Colour(enum.Enum):
    RED = "red"


FOREIGN = [uuid.UUID(int=7), Colour.RED, datetime.date(2026, 1, 1), decimal.Decimal("9.99")]
KINDS = ["uuid.UUID", "Colour", "datetime.date", "decimal.Decimal"]


@pytest.mark.parametrize(("value", "kind"), list(zip(FOREIGN, KINDS, strict=True)))
def test_enqueue_refuses_every_non_json_type_alike(app: Conveyor, value: Any, kind: str) -> None:
    @app.job(name="order")
    def order(order_id: Any, **fields: Any) -> None: ...

    with pytest.raises(Unserializable, match=rf"arguments of job 'order'.*\[0\] is a .*{kind}"):
        order.enqueue(value)
    with pytest.raises(Unserializable, match=rf"keyword .*\['lines'\]\[1\] is a .*{kind}"):
        order.enqueue(1, lines=[1, value])
    with pytest.raises(Unserializable, match=kind):
        app.cron("@daily", order, args=(value,))
    with pytest.raises(Unserializable, match=kind):
        app.batch([order.s(1), order.s(2, at=value)])
    assert app.jobs() == [] and app.schedules == {}


def test_a_result_that_is_not_json_fails_its_job_saying_where(app: Conveyor) -> None:
    @app.job(name="lookup", max_attempts=3)
    def lookup() -> dict[str, Any]:
        return {"id": uuid.UUID(int=5)}

    @app.job(name="fine")
    def fine() -> str:
        return str(uuid.UUID(int=5))

    bad, good = lookup.enqueue(), fine.enqueue()
    app.drain()
    stored = app.get(bad.id)
    assert (stored.state, stored.result) == (JobState.DISCARDED, None)
    assert "result of job 'lookup' cannot be stored as JSON: ['id'] is a uuid.UUID" in \
        stored.errors[-1].message
    assert app.get(good.id).result == "00000000-0000-0000-0000-000000000005"
