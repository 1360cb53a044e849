"""The state machine: every transition the engine may make, and the ones it must not."""

from __future__ import annotations

import itertools

import pytest

from conveyor import model
from conveyor.model import JobState as S

ALLOWED = {
    (S.PENDING, S.SCHEDULED), (S.PENDING, S.AVAILABLE), (S.PENDING, S.CANCELLED),
    (S.SCHEDULED, S.AVAILABLE), (S.SCHEDULED, S.CANCELLED),
    (S.AVAILABLE, S.RUNNING), (S.AVAILABLE, S.SCHEDULED), (S.AVAILABLE, S.CANCELLED),
    (S.RUNNING, S.COMPLETED), (S.RUNNING, S.RETRYABLE), (S.RUNNING, S.DISCARDED),
    (S.RUNNING, S.CANCELLED), (S.RUNNING, S.SCHEDULED), (S.RUNNING, S.AVAILABLE),
    (S.RETRYABLE, S.AVAILABLE), (S.RETRYABLE, S.CANCELLED),
}


@pytest.mark.parametrize(("source", "target"), list(itertools.product(S, S)))
def test_every_pair_of_states(source: S, target: S) -> None:
    assert model.can_transition(source, target) == ((source, target) in ALLOWED)


def test_final_states_have_no_way_out() -> None:
    assert {S.COMPLETED, S.DISCARDED, S.CANCELLED} == model.FINAL_STATES
    for state in model.FINAL_STATES:
        assert model.TRANSITIONS[state] == frozenset()


def test_only_available_jobs_are_claimed_and_running_is_left_only_by_outcomes() -> None:
    assert model.sources_of(S.RUNNING) == {S.AVAILABLE}
    assert model.sources_of(S.COMPLETED) == {S.RUNNING}
    assert model.sources_of(S.DISCARDED) == {S.RUNNING}


def test_outcomes_target_allowed_states() -> None:
    from conveyor import outcome

    targets = [outcome.Completed.target, outcome.Snoozed.target, outcome.Cancelled.target,
               outcome.Interrupted.target]
    for target in targets:
        assert model.can_transition(S.RUNNING, target)


def test_operators_retry_to_available_from_every_state_they_may_retry() -> None:
    for state in model.OPERATOR_RETRY_FROM:
        assert S.AVAILABLE in model.OPERATOR_TRANSITIONS[state] or state is S.AVAILABLE
    assert model.OPERATOR_TRANSITIONS[S.RUNNING] == frozenset()  # a worker settles it
