"""Configuration errors: caught when the app or a job is declared, before anything is stored."""

from __future__ import annotations

import pytest

from conveyor import ConfigurationError, Conveyor, InvalidUrl, UnknownJob
from conveyor.backends import sqlfile


@pytest.mark.parametrize("url", ["mysql://localhost/db", "nonsense", "sqlite:///:memory:",
                                 "sqlite://host/file.db", "sqlite:///"])
def test_bad_urls_fail_clearly(url: str) -> None:
    with pytest.raises(InvalidUrl, match="URL"):
        Conveyor(url)


def test_url_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("CONVEYOR_URL", "sqlite:///from-env.db")
    assert Conveyor().url == "sqlite:///from-env.db"
    monkeypatch.delenv("CONVEYOR_URL")
    assert Conveyor().url == "sqlite:///conveyor.db"


def test_unknown_job_name_lists_known_ones() -> None:
    app = Conveyor("sqlite:///unused.db")

    @app.job(name="known")
    def known() -> None: ...

    with pytest.raises(UnknownJob, match=r"'missing'.*known"):
        app.registry.get("missing")


def test_two_functions_cannot_share_a_name() -> None:
    app = Conveyor("sqlite:///unused.db")
    app.job(name="dup")(lambda: None)
    with pytest.raises(ConfigurationError, match="already registered"):
        app.job(name="dup")(lambda: None)


def test_bad_job_options_fail_at_registration() -> None:
    app = Conveyor("sqlite:///unused.db")
    with pytest.raises(ConfigurationError, match=r"'j'.*max_attempts"):
        app.job(name="j", max_attempts=0)(lambda: None)
    with pytest.raises(ConfigurationError, match=r"'k'.*backoff"):
        app.job(name="k", backoff=[-5])(lambda: None)


def test_sql_files_parse_into_named_statements() -> None:
    parsed = sqlfile.parse("-- name: one\nSELECT 1;\n\n-- name: two\nSELECT 2\n")
    assert parsed == {"one": "SELECT 1", "two": "SELECT 2"}
    with pytest.raises(ValueError, match="twice"):
        sqlfile.parse("-- name: a\nSELECT 1\n-- name: a\nSELECT 2\n")
    for package in ("conveyor.backends.sqlite",):
        assert {"start", "complete", "fail", "stage", "rescue"} <= set(sqlfile.load(package))


def test_argument_checks_agree_with_the_signature() -> None:
    """Positional calls are checked by counting; the answer must be what binding says."""
    import inspect

    from conveyor import InvalidArguments

    app = Conveyor("sqlite:///unused.db")

    def plain(a: int, b: int, c: int = 0) -> None: ...
    def spread(a: int, *rest: int) -> None: ...
    def keyword(a: int, *, shop: int) -> None: ...
    def only(a: int, /, b: int = 1, *, flag: bool = False) -> None: ...

    calls = [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), (1, 2, 3, 4, 5)]
    for func in (plain, spread, keyword, only):
        job_type = app.job(name=func.__name__)(func)
        for args in calls:
            try:
                inspect.signature(func).bind(*args)
            except TypeError:
                with pytest.raises(InvalidArguments, match=func.__name__):
                    job_type.check_arguments(args, {})
            else:
                job_type.check_arguments(args, {})
