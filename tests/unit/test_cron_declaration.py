"""`app.cron(...)` refuses what it cannot schedule with `InvalidSchedule`, at the call."""

from __future__ import annotations

import math
from typing import Any

import pytest

from conveyor import Conveyor, InvalidArguments, InvalidSchedule


def _app() -> tuple[Conveyor, Any]:
    app = Conveyor("sqlite:///unused.db")

    @app.job(name="cleanup_carts")
    def cleanup_carts(older_than_hours: int = 24) -> None: ...

    return app, cleanup_carts


def test_a_plain_function_is_not_a_job() -> None:
    app, _ = _app()

    def report() -> None: ...

    with pytest.raises(InvalidSchedule, match=r"cron schedule '@daily'.*not a job.*@app\.job"):
        app.cron("@daily", report)  # type: ignore[arg-type]
    with pytest.raises(InvalidSchedule, match=r"cron schedule 'nightly'.*not a job"):
        app.cron("@daily", "cleanup_carts", name="nightly")  # type: ignore[arg-type]
    assert app.schedules == {}


@pytest.mark.parametrize(("extra", "fragment"), [
    ({"args": 1}, "args= must be a list or tuple"),
    ({"args": "ab"}, "args= must be a list or tuple"),
    ({"kwargs": [("older_than_hours", 1)]}, "kwargs= must be a dict"),
    ({"kwargs": {1: 2}}, "kwargs= must be a dict with str keys"),
    ({"grace": math.nan}, "grace=nan is invalid"), ({"grace": math.inf}, "grace=inf"),
    ({"grace": 10**400}, "grace="), ({"grace": -1}, "grace=-1"),
    ({"name": ""}, "name= must be"), ({"name": 7}, "name= must be"),
    ({"catch_up_limit": math.inf}, "catch_up_limit"),
])
def test_bad_schedule_arguments(extra: dict[str, Any], fragment: str) -> None:
    app, cleanup_carts = _app()
    with pytest.raises(InvalidSchedule, match=fragment):
        app.cron("0 * * * *", cleanup_carts, **extra)
    assert app.schedules == {}


def test_a_signature_carries_its_own_arguments() -> None:
    app, cleanup_carts = _app()
    with pytest.raises(InvalidSchedule, match="not both"):
        app.cron("0 * * * *", cleanup_carts.s(1), args=(2,))
    schedule = app.cron("0 * * * *", cleanup_carts.s(1))
    assert schedule.job.args_json == "[1]"
    with pytest.raises(InvalidArguments, match="cleanup_carts"):
        app.cron("0 * * * *", cleanup_carts, args=(1, 2), name="two")
    assert list(app.schedules) == ["cleanup_carts"]
