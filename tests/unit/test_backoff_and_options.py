from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from conveyor import backoff, errors, options


def test_backoff_list_reuses_last_delay() -> None:
    delay = backoff.from_list([30, 60, 300])
    assert [delay(n) for n in (1, 2, 3, 4, 10)] == [30, 60, 300, 300, 300]


def test_exponential_grows_caps_and_jitters_within_bounds() -> None:
    delay = backoff.exponential(base=10, factor=2, cap=100, jitter=0.1, rng=random.Random(7))
    for attempt, centre in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (30, 100)]:
        assert centre * 0.9 <= delay(attempt) <= centre * 1.1


def test_default_backoff_is_exponential_with_jitter() -> None:
    delay = backoff.resolve(None)
    samples = {round(delay(3), 3) for _ in range(20)}
    assert len(samples) > 1
    assert all(54 <= s <= 66 for s in samples)


@pytest.mark.parametrize("spec", [[], [-1], [5, -2]])
def test_bad_backoff_lists(spec: list[float]) -> None:
    with pytest.raises(ValueError, match="backoff"):
        backoff.from_list(spec)


@pytest.mark.parametrize(("field", "value", "fragment"), [
    ("queue", "", "queue"), ("queue", 5, "queue"), ("priority", 1.5, "priority"),
    ("priority", 2**40, "32-bit"), ("max_attempts", 0, "1 to 10000"),
    ("max_attempts", True, "1 to 10000"), ("delay", -1, "delay"),
    ("run_at", datetime(2030, 1, 1), "timezone-aware"), ("timeout", 0, "timeout"),
    ("retry_until", "tomorrow", "timezone-aware"),
])
def test_invalid_options_name_job_field_and_rule(field: str, value: object,
                                                 fragment: str) -> None:
    with pytest.raises(errors.ConfigurationError, match=fragment) as caught:
        options.build("sync_product", **{field: value})
    assert "'sync_product'" in str(caught.value) and field in str(caught.value)


def test_unknown_option() -> None:
    with pytest.raises(errors.ConfigurationError, match="unknown option"):
        options.build("j", queu="typo")


def test_delay_and_run_at_replace_each_other() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    at = now + timedelta(hours=1)
    base = options.EnqueueOptions(delay=60)
    assert base.merged(options.EnqueueOptions(run_at=at)).run_time(now) == at
    later = options.EnqueueOptions(run_at=at).merged(options.EnqueueOptions(delay=5))
    assert later.run_time(now) == now + timedelta(seconds=5)
