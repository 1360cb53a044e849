"""The leader's rescue rules stepped on plain numbers of seconds: seniority, stalls between
and within rounds, and the rescue and prune cadence."""

from __future__ import annotations

from conveyor import Settings
from conveyor.worker.rescue_rules import RescueRules

S = Settings(heartbeat_interval=5.0, lease_timeout=60.0, rescue_interval=15.0,
             stage_interval=1.0, prune_interval=60.0)


def rounds(rules: RescueRules, start: float, end: float, step: float = 1.0) -> list[float]:
    """Quick rounds from `start` to `end`; the moments at which a rescue was allowed."""
    allowed, at = [], start
    while at <= end:
        rules.leased(at, at)
        if rules.may_rescue(at, at):
            allowed.append(at)
        at += step
    return allowed


def test_a_worker_is_young_for_half_a_lease_timeout() -> None:
    rules = RescueRules(S)
    assert rules.young(1000.0) and rules.young(1029.0)
    assert not rules.young(1030.0)


def test_steady_rounds_rescue_every_rescue_interval() -> None:
    assert rounds(RescueRules(S), 0.0, 60.0) == [0.0, 15.0, 30.0, 45.0, 60.0]


def test_a_gap_between_rounds_holds_rescue_back_for_a_lease_timeout() -> None:
    rules = RescueRules(S)
    assert rounds(rules, 0.0, 10.0) == [0.0]
    # Nothing ran for 100 s (the database or this process stalled): no worker could
    # heartbeat, so staleness counts again from the end of the stall.
    assert rounds(rules, 110.0, 200.0) == [170.0, 185.0, 200.0]


def test_a_gap_shorter_than_the_stall_limit_is_only_a_slow_round() -> None:
    assert RescueRules(S).stall_limit == 30.0
    rules = RescueRules(S)
    assert rounds(rules, 0.0, 10.0) == [0.0]
    assert rounds(rules, 40.0, 60.0) == [40.0, 55.0]  # a gap of 30 s: not a stall


def test_a_round_that_stalls_inside_holds_rescue_back() -> None:
    rules = RescueRules(S)
    assert rounds(rules, 0.0, 20.0) == [0.0, 15.0]
    rules.leased(21.0, 21.0)
    assert not rules.may_rescue(21.0, 61.0)  # staging took 40 s
    # The next round begins 41 s after the last lease: that gap counts as the stall's end.
    assert rounds(rules, 62.0, 130.0) == [122.0]


def test_a_forced_rescue_ignores_the_rules() -> None:
    rules = RescueRules(S)
    rules.leased(0.0, 0.0)
    assert rules.may_rescue(0.0, 50.0) is False  # the round itself stalled
    assert rules.may_rescue(51.0, 51.0, force=True)


def test_prune_every_prune_interval() -> None:
    rules = RescueRules(S)
    assert [at for at in range(0, 181, 10) if rules.may_prune(float(at))] == [0, 60, 120, 180]
