"""The 3-way field decision, case by case."""

from datetime import UTC, datetime

import pytest

from sync.engine.decide import MISSING, ChangeTimes, FieldSides, Rule, decide
from sync.mapping import Direction, Policy
from sync.model import System

EARLY = datetime(2026, 3, 1, 13, 40, tzinfo=UTC)
LATE = datetime(2026, 3, 1, 14, 2, tzinfo=UTC)
HUBSPOT_LATER = ChangeTimes(hubspot=LATE, dynamics=EARLY)
DYNAMICS_LATER = ChangeTimes(hubspot=EARLY, dynamics=LATE)


def test_equal_values_write_nothing():
    decision = decide("name", FieldSides("Acme", "Acme", "Old"), Direction.BOTH, Policy.LATEST_WINS, HUBSPOT_LATER)
    assert decision.winner is None
    assert decision.rule is Rule.EQUAL


def test_hubspot_change_flows_to_dynamics():
    decision = decide("name", FieldSides("New", "Old", "Old"), Direction.BOTH, Policy.LATEST_WINS, DYNAMICS_LATER)
    assert decision.winner is System.HUBSPOT
    assert decision.target is System.DYNAMICS
    assert decision.value == "New"
    assert decision.conflict is False


def test_dynamics_change_flows_to_hubspot():
    decision = decide("name", FieldSides("Old", "New", "Old"), Direction.BOTH, Policy.LATEST_WINS, HUBSPOT_LATER)
    assert decision.winner is System.DYNAMICS
    assert decision.rule is Rule.ONE_SIDE_CHANGED


def test_one_side_change_is_not_a_conflict_even_if_older():
    # The stale side did not change the field, so the older change still wins.
    decision = decide("amount", FieldSides(10.0, 20.0, 10.0), Direction.BOTH, Policy.HUBSPOT_WINS, HUBSPOT_LATER)
    assert decision.winner is System.DYNAMICS


@pytest.mark.parametrize(
    ("policy", "times", "winner"),
    [
        (Policy.LATEST_WINS, HUBSPOT_LATER, System.HUBSPOT),
        (Policy.LATEST_WINS, DYNAMICS_LATER, System.DYNAMICS),
        (Policy.HUBSPOT_WINS, DYNAMICS_LATER, System.HUBSPOT),
        (Policy.DYNAMICS_WINS, HUBSPOT_LATER, System.DYNAMICS),
    ],
    ids=["latest-hubspot", "latest-dynamics", "hubspot-wins", "dynamics-wins"],
)
def test_conflict_decided_by_policy(policy, times, winner):
    decision = decide("stage", FieldSides("a", "b", "c"), Direction.BOTH, policy, times)
    assert decision.winner is winner
    assert decision.conflict is True
    assert decision.rule is Rule.CONFLICT_POLICY


def test_latest_wins_reason_names_both_times():
    decision = decide("stage", FieldSides("a", "b", "c"), Direction.BOTH, Policy.LATEST_WINS, HUBSPOT_LATER)
    assert "HubSpot 2026-03-01 14:02:00 > Dynamics 2026-03-01 13:40:00" in decision.reason


def test_first_sync_never_blanks_a_value():
    decision = decide("phone", FieldSides(None, "+1 555", MISSING), Direction.BOTH, Policy.HUBSPOT_WINS, HUBSPOT_LATER)
    assert decision.winner is System.DYNAMICS
    assert decision.rule is Rule.NON_EMPTY


def test_first_sync_two_values_use_policy_without_conflict():
    decision = decide("phone", FieldSides("1", "2", MISSING), Direction.BOTH, Policy.LATEST_WINS, DYNAMICS_LATER)
    assert decision.winner is System.DYNAMICS
    assert decision.conflict is False


def test_one_way_field_flows_when_source_changed():
    decision = decide("amount", FieldSides(5.0, 7.0, 7.0), Direction.TO_DYNAMICS, Policy.LATEST_WINS, DYNAMICS_LATER)
    assert decision.winner is System.HUBSPOT
    assert decision.rule is Rule.DIRECTION


def test_one_way_field_ignores_target_edit():
    decision = decide("amount", FieldSides(5.0, 9.0, 5.0), Direction.TO_DYNAMICS, Policy.LATEST_WINS, DYNAMICS_LATER)
    assert decision.winner is None
    assert decision.value == 5.0


def test_one_way_empty_source_on_first_sync_writes_nothing():
    decision = decide("owner", FieldSides("x@y.com", None, MISSING), Direction.TO_HUBSPOT, Policy.LATEST_WINS, HUBSPOT_LATER)
    assert decision.winner is None


def test_latest_wins_tie_goes_to_hubspot():
    same = ChangeTimes(hubspot=EARLY, dynamics=EARLY)
    decision = decide("name", FieldSides("a", "b", "c"), Direction.BOTH, Policy.LATEST_WINS, same)
    assert decision.winner is System.HUBSPOT


def test_create_only_field_never_updates():
    decision = decide("source", FieldSides("web", "import", "web"), Direction.CREATE_ONLY, Policy.LATEST_WINS, DYNAMICS_LATER)
    assert decision.winner is None


def test_prefer_non_empty_beats_latest():
    decision = decide("phone", FieldSides("+1 555", "", "+1 444"), Direction.BOTH, Policy.PREFER_NON_EMPTY, DYNAMICS_LATER)
    assert decision.winner is System.HUBSPOT
    assert decision.conflict is True


def test_prefer_non_empty_falls_back_to_latest():
    decision = decide("phone", FieldSides("1", "2", "3"), Direction.BOTH, Policy.PREFER_NON_EMPTY, DYNAMICS_LATER)
    assert decision.winner is System.DYNAMICS


def test_keep_first_keeps_the_earlier_change():
    decision = decide("stage", FieldSides("a", "b", "c"), Direction.BOTH, Policy.KEEP_FIRST, DYNAMICS_LATER)
    assert decision.winner is System.HUBSPOT
