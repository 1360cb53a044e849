"""Rate parsing and the admission algorithm (pure functions, no storage)."""

from __future__ import annotations

import pytest

from conveyor import Concurrency, ConfigurationError, Conveyor, InvalidArguments, Rate, limits


@pytest.mark.parametrize(("spec", "expected"), [
    ("10/s", (10, 1.0)), ("80/s", (80, 1.0)), ("500/m", (500, 60.0)), ("3/h", (3, 3600.0)),
    ("250000/d", (250_000, 86_400.0)), ("5/10m", (5, 600.0)), (" 7 / second ", (7, 1.0)),
    ("2/minutes", (2, 60.0)),
])
def test_rate_specs(spec: str, expected: tuple[int, float]) -> None:
    assert limits.parse_rate(spec, "j") == expected


@pytest.mark.parametrize("spec", ["ten per second", "0/s", "5/fortnight", "5", "/s", "-1/s",
                                  "5/0s", "", "1.5/s"])
def test_bad_rates_fail_at_registration_naming_job_and_value(spec: str) -> None:
    app = Conveyor("sqlite:///unused.db")
    with pytest.raises(ConfigurationError, match=r"job 'send'.*rate") as caught:
        app.job(name="send", rate_limit=spec)(lambda: None)
    assert repr(spec) in str(caught.value)


def test_bad_concurrency_and_limits_lists() -> None:
    app = Conveyor("sqlite:///unused.db")
    with pytest.raises(ConfigurationError, match="concurrency limit 0"):
        app.job(name="a", concurrency=0)(lambda: None)
    with pytest.raises(ConfigurationError, match="Rate"):
        app.job(name="b", limits=["10/s"])(lambda: None)
    with pytest.raises(ConfigurationError, match="at most one concurrency"):
        app.job(name="c", limits=[Concurrency(1), Concurrency(2)])(lambda: None)
    with pytest.raises(ConfigurationError, match="cost"):
        app.job(name="d", rate_limit="1/s", cost=0)(lambda: None)


def test_a_single_limit_needs_no_list() -> None:
    app = Conveyor("sqlite:///unused.db")
    rated = app.job(name="rated", limits=Rate("80/s", key=lambda account_id: account_id))(
        lambda account_id: None)
    pooled = app.job(name="pooled", limits=Concurrency(2, key="shop"))(lambda: None)
    assert rated.s(7).new_job().rate_key == "7@80/s"
    assert (pooled.s().new_job().concurrency_key, pooled.s().new_job().concurrency_limit) == \
        ("shop", 2)
    for bad in ("80/s", 80, {Rate("1/s")}):
        with pytest.raises(ConfigurationError, match=r"job 'odd': limits=.* is invalid"):
            app.job(name="odd", limits=bad)(lambda: None)


def cand(job_id: int, *keys: tuple[str, float], cost: int = 1, ckey: str | None = None,
         climit: int | None = None) -> limits.Candidate:
    return limits.Candidate(job_id, (0, 0, job_id), tuple(keys), cost, ckey, climit)


def test_strict_spacing_one_per_slot() -> None:
    keys: dict[str, limits.KeyState] = {}
    a = ("A", 0.1)
    assert limits.admit([cand(1, a), cand(2, a), cand(3)], keys, {}, 10, now=100.0) == [1, 3]
    assert keys["A"].tat == pytest.approx(100.1)
    assert keys["A"].blocked_until == pytest.approx(100.1)
    assert limits.admit([cand(2, a)], keys, {}, 10, now=100.05) == []
    assert limits.admit([cand(2, a)], keys, {}, 10, now=100.1) == [2]


def test_cost_takes_several_slots_and_all_keys_must_allow() -> None:
    keys: dict[str, limits.KeyState] = {}
    assert limits.admit([cand(1, ("A", 0.1), cost=5)], keys, {}, 10, now=0.0) == [1]
    assert keys["A"].tat == pytest.approx(0.5)
    keys["B"] = limits.KeyState(tat=0.0, blocked_until=9.0)
    assert limits.admit([cand(2, ("A", 0.1), ("B", 1.0))], keys, {}, 10, now=1.0) == []
    keys["C"] = limits.KeyState(paused=True)
    assert limits.admit([cand(3, ("C", 0.1))], keys, {}, 10, now=1.0) == []


def test_concurrency_counts_running_and_this_batch() -> None:
    batch = [cand(i, ckey="K", climit=3) for i in range(1, 6)]
    assert limits.admit(batch, {}, {"K": 1}, 10, now=0.0) == [1, 2]
    assert limits.admit(batch, {}, {"K": 3}, 10, now=0.0) == []


def test_limit_caps_admissions_in_order() -> None:
    batch = [cand(3), cand(1), cand(2)]
    assert limits.admit(batch, {}, {}, 2, now=0.0) == [1, 2]


def test_keys_resolve_from_arguments() -> None:
    declared = limits.JobLimits(rates=(Rate("80/s", key=lambda account, **_: f"wa:{account}"),),
                                concurrency=Concurrency(1, key="shop"),
                                cost=lambda account, recipients: len(recipients))
    resolved = declared.resolve("broadcast", {"account": 7, "recipients": ["a", "b", "c"]},
                                None)
    assert resolved.rate_keys == (("wa:7@80/s", pytest.approx((1 + 0.05) / 80)),)
    assert (resolved.concurrency_key, resolved.concurrency_limit, resolved.cost) == \
        ("shop", 1, 3)


def test_a_rate_given_per_call_is_read_from_the_arguments() -> None:
    rates = {1: "80/s", 2: "10/s"}
    declared = limits.JobLimits(rates=(Rate(lambda account, **_: rates[account],
                                            key=lambda account, **_: f"wa:{account}"),))
    assert [declared.resolve("send", {"account": a}, None).rate_keys for a in (1, 2)] == [
        (("wa:1@80/s", pytest.approx(1.05 / 80)),), (("wa:2@10/s", pytest.approx(1.05 / 10)),)]
    rates[2] = "ten a second"
    with pytest.raises(InvalidArguments, match="job 'send': rate 'ten a second' is invalid"):
        declared.resolve("send", {"account": 2}, None)
    with pytest.raises(InvalidArguments, match=r"the spec of rate given per call .* KeyError"):
        declared.resolve("send", {"account": 3}, None)
