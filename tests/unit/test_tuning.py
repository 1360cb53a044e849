"""Settings from `CONVEYOR_*` environment variables: every field parsed, bad values refused
with a message naming the variable, and the environment applied over the code's settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor import ConfigurationError, Conveyor, JobState, Settings, tuning


def test_every_settings_field_has_a_kind_and_reads_its_variable() -> None:
    assert set(tuning.KINDS) == set(Settings.__dataclass_fields__)
    env = {"CONVEYOR_PAYLOAD_LIMIT": "2048", "CONVEYOR_LEASE_TIMEOUT": "90",
           "CONVEYOR_HEARTBEAT_INTERVAL": "2.5", "CONVEYOR_RESCUE_INTERVAL": " 7 ",
           "CONVEYOR_AUTO_MIGRATE": "no", "CONVEYOR_METRICS_RETENTION": "0",
           "CONVEYOR_RETENTION": "completed=60, discarded=0"}
    got = tuning.from_environment(Settings(), env)
    assert (got.payload_limit, got.lease_timeout, got.heartbeat_interval,
            got.rescue_interval, got.auto_migrate, got.metrics_retention) == \
        (2048, 90.0, 2.5, 7.0, False, 0.0)
    assert dict(got.retention) == {JobState.COMPLETED: 60.0, JobState.CANCELLED: 7 * 86_400.0,
                                   JobState.DISCARDED: 0.0}
    assert tuning.from_environment(Settings(), {}) == Settings()
    assert tuning.from_environment(Settings(), {"CONVEYOR_LEASE_TIMEOUT": ""}) == Settings()


@pytest.mark.parametrize(("name", "text", "says"), [
    ("CONVEYOR_LEASE_TIMEOUT", "soon", "a number of seconds > 0"),
    ("CONVEYOR_LEASE_TIMEOUT", "0", "a number of seconds > 0"),
    ("CONVEYOR_RESCUE_INTERVAL", "nan", "a number of seconds > 0"),
    ("CONVEYOR_STAGE_INTERVAL", "inf", "a number of seconds > 0"),
    ("CONVEYOR_METRICS_RETENTION", "-1", "a number of seconds >= 0"),
    ("CONVEYOR_PAYLOAD_LIMIT", "1.5", "a whole number >= 1"),
    ("CONVEYOR_MAX_ERRORS", "0", "a whole number from 1 to"),
    ("CONVEYOR_CRASH_LIMIT", str(2**40), "a whole number from 1 to"),
    ("CONVEYOR_AUTO_MIGRATE", "maybe", "expected true or false"),
    ("CONVEYOR_RETENTION", "finished=10", "STATE one of completed, cancelled, discarded"),
    ("CONVEYOR_RETENTION", "completed", "STATE=SECONDS"),
    ("CONVEYOR_RETENTION", "completed=-5", "a number of seconds >= 0"),
])
def test_a_bad_value_names_the_variable_and_the_rule(name: str, text: str, says: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        tuning.from_environment(Settings(), {name: text})
    assert f"{name}={text!r}" in str(caught.value) and says in str(caught.value)


def test_a_heartbeat_slower_than_half_the_lease_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"CONVEYOR_LEASE_TIMEOUT: the heartbeat "
                                                 r"interval \(5 s\) must be at most half"):
        tuning.from_environment(Settings(), {"CONVEYOR_LEASE_TIMEOUT": "8"})
    assert tuning.from_environment(Settings(), {"CONVEYOR_LEASE_TIMEOUT": "10"}
                                   ).lease_timeout == 10.0


def test_the_environment_overrides_the_code_in_every_app(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    monkeypatch.setenv("CONVEYOR_LEASE_TIMEOUT", "120")
    monkeypatch.setenv("CONVEYOR_RESULT_LIMIT", "100")
    app = Conveyor(f"sqlite:///{tmp_path / 'x.db'}",
                   settings=Settings(lease_timeout=30.0, max_errors=3))
    assert (app.settings.lease_timeout, app.settings.result_limit, app.settings.max_errors) \
        == (120.0, 100, 3)
    monkeypatch.setenv("CONVEYOR_RESULT_LIMIT", "lots")
    with pytest.raises(ConfigurationError, match="CONVEYOR_RESULT_LIMIT='lots'"):
        Conveyor(f"sqlite:///{tmp_path / 'x.db'}")


def test_grace_reads_its_variable() -> None:
    assert tuning.grace(30.0, {}) == 30.0
    assert tuning.grace(30.0, {"CONVEYOR_GRACE": "4.5"}) == 4.5
    with pytest.raises(ConfigurationError, match="CONVEYOR_GRACE='-1': expected a number"):
        tuning.grace(30.0, {"CONVEYOR_GRACE": "-1"})


def test_the_readme_lists_every_variable_and_flag() -> None:
    from conveyor.cli import worker

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for field in tuning.KINDS:
        assert f"`{tuning.env_name(field)}`" in readme, field
    for field in worker.FLAGS:
        assert f"`{tuning.env_name(field)}` | `{tuning.flag_name(field)}`" in readme, field
    assert f"`{tuning.GRACE}` | `--grace`" in readme
