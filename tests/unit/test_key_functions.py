"""Key, cost and unique-key functions get the call's arguments by name, however it was made.

Rows are built without storage: `job.s(...)` checks and encodes a call exactly as enqueue
does, so these tests need no database.
"""

from __future__ import annotations

from typing import Any

import pytest

from conveyor import ConfigurationError, Conveyor, InvalidArguments, Rate, model
from conveyor.registry import JobType

CALLS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((1, "+48123", "hi"), {}),
    ((1,), {"to": "+48123", "text": "hi"}),
    ((), {"account_id": 1, "to": "+48123", "text": "hi"}),
    ((1, "+48123"), {"text": "hi"}),
]


def _row(job: JobType[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> model.NewJob:
    return job.s(*args, **kwargs).new_job()


def test_readme_rate_key_works_for_positional_and_keyword_calls() -> None:
    app = Conveyor("sqlite:///unused.db")

    @app.job(name="send_message", rate_limit="80/s",
             rate_key=lambda account_id, **_: f"wa:{account_id}")
    def send_message(account_id: int, to: str, text: str) -> None: ...

    keys = {_row(send_message, args, kwargs).rate_key for args, kwargs in CALLS}
    assert keys == {"wa:1@80/s"}


def test_every_kind_of_function_sees_the_same_bound_arguments() -> None:
    app = Conveyor("sqlite:///unused.db")
    seen: list[dict[str, Any]] = []

    def record(**named: Any) -> str:
        seen.append(named)
        return "k"

    @app.job(name="send", limits=[Rate("10/s", key=record)], concurrency=2,
             concurrency_key=record, cost=lambda **named: record(**named) and 2,
             unique_key=record)
    def send(account_id: int, to: str, text: str, urgent: bool = False) -> None: ...

    rows = [_row(send, args, kwargs) for args, kwargs in CALLS]
    expected = {"account_id": 1, "to": "+48123", "text": "hi", "urgent": False}
    assert seen == [expected] * (4 * len(CALLS))  # defaults applied, always by name
    assert {(r.rate_key, r.concurrency_key, r.cost) for r in rows} == {("k@10/s", "k", 2)}
    assert len({r.unique_key for r in rows}) == 1


def test_var_keyword_entries_are_spread_and_var_positional_kept_whole() -> None:
    app = Conveyor("sqlite:///unused.db")

    @app.job(name="tag", rate_limit="5/s",
             rate_key=lambda shop, items, **_: f"{shop}:{len(items)}")
    def tag(shop: int, *items: str, **options: Any) -> None: ...

    assert _row(tag, (3, "a", "b"), {"colour": "red"}).rate_key == "3:2@5/s"


def test_a_function_that_cannot_take_the_arguments_by_name_is_refused_at_declaration() -> None:
    app = Conveyor("sqlite:///unused.db")

    def send(account_id: int, to: str, text: str) -> None: ...

    cases: list[dict[str, Any]] = [
        {"rate_limit": "1/s", "rate_key": lambda account_id: account_id},
        {"limits": [Rate("1/s", key=lambda *args: args[0])]},
        {"concurrency": 1, "concurrency_key": lambda account_id, to: account_id},
        {"rate_limit": "1/s", "cost": lambda recipients: len(recipients)},
        {"unique_key": lambda account_id, *_: account_id},
    ]
    labels = ["the key of rate '1/s'", "the key of rate '1/s'", "concurrency_key", "cost",
              "unique_key"]
    for config, label in zip(cases, labels, strict=True):
        with pytest.raises(ConfigurationError) as caught:
            app.job(name="send", **config)(send)
        message = str(caught.value)
        assert message.startswith(f"job 'send': {label} <lambda> ("), message
        assert "(account_id, to, text)" in message and "**_" in message
    assert app.registry.names() == []


def test_errors_inside_the_functions_name_the_job_and_the_function() -> None:
    app = Conveyor("sqlite:///unused.db")
    accounts = {1: "wa:1"}

    @app.job(name="send", rate_limit="1/s", rate_key=lambda account_id, **_: accounts[account_id],
             concurrency=1,
             concurrency_key=lambda account_id, **_: 1 // (account_id - 1))
    def send(account_id: int, text: str) -> None: ...

    with pytest.raises(InvalidArguments,
                       match=r"job 'send': the key of rate '1/s' <lambda> \(.*test_key_functions"
                             r"\.py:\d+\) failed when called with account_id, text: KeyError: 7"):
        send.s(7, "hi")
    with pytest.raises(InvalidArguments, match=r"concurrency_key .* ZeroDivisionError"):
        send.s(1, text="hi")

    @app.job(name="costly", rate_limit="1/s", cost=lambda n: n)
    def costly(n: Any) -> None: ...

    for bad in (0, True, "3", 2**31):
        with pytest.raises(InvalidArguments, match=r"job 'costly': cost must be an integer"):
            costly.s(bad)
    assert costly.s(2**31 - 1).new_job().cost == 2**31 - 1


def test_an_exception_that_cannot_be_printed_is_still_reported() -> None:
    app = Conveyor("sqlite:///unused.db")

    class Broken(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    def key(n: int) -> str:
        raise Broken

    @app.job(name="odd", rate_limit="1/s", rate_key=key)
    def odd(n: int) -> None: ...

    with pytest.raises(InvalidArguments, match="Broken: <unprintable Broken>"):
        odd.s(1)


def test_jobs_without_such_functions_do_not_bind() -> None:
    """Binding costs microseconds a row; a bulk enqueue of plain jobs must not pay it."""
    app = Conveyor("sqlite:///unused.db")
    plain = app.job(name="plain", rate_limit="1/s", rate_key="fixed")(lambda n: None)
    keyed = app.job(name="keyed", rate_limit="1/s", rate_key=lambda n: n)(lambda n: None)
    unique = app.job(name="unique", unique=True)(lambda n: None)
    assert [t._binder is not None for t in (plain, keyed, unique)] == [False, True, True]


def test_the_fast_binding_agrees_with_inspect() -> None:
    """Plain signatures are bound by zipping names; the result must be what `inspect` says."""
    import inspect

    from conveyor import arguments

    def plain(a: int, b: int, c: int = 3) -> None: ...
    def only(a: int, /, b: int = 2, *, flag: bool = False) -> None: ...
    def keyword(a: int, *, shop: int) -> None: ...
    def spread(a: int, *rest: int, **extra: int) -> None: ...

    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((), {}), ((1,), {}), ((1, 2), {}), ((1, 2, 3), {}), ((1, 2, 3, 4), {}),
        ((1,), {"b": 2}), ((), {"a": 1, "b": 2}), ((1,), {"a": 1}), ((1,), {"shop": 5}),
        ((1, 2), {"flag": True}), ((), {"a": 1}), ((1,), {"zzz": 1}), ((1, 2), {"c": 9}),
    ]
    for func in (plain, only, keyword, spread):
        signature = inspect.signature(func)
        binder = arguments.Binder(func.__name__, signature)
        for args, kwargs in calls:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError:
                with pytest.raises(InvalidArguments, match=func.__name__):
                    binder.bind(args, kwargs)
                continue
            bound.apply_defaults()
            call = binder.bind(args, kwargs)
            assert call.bound == dict(bound.arguments), (func.__name__, args, kwargs)
            assert call.named == arguments.keywords(bound)
