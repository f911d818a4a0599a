"""The 3-way decision for one field of one linked pair.

Inputs are the HubSpot value, the Dynamics value and the synced value (the value both
sides held after the last successful write, or MISSING for a pair linked in this run).
The output names the side whose value wins and the rule that decided, for the report.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sync.mapping import Direction, Policy
from sync.model import System


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Rule(enum.StrEnum):
    """The rule that made a decision, as the report names it."""

    EQUAL = "equal"
    ONE_SIDE_CHANGED = "one_side_changed"
    DIRECTION = "direction"
    NON_EMPTY = "non_empty"
    CONFLICT_POLICY = "conflict_policy"


@dataclass(frozen=True)
class FieldSides:
    hubspot: Any
    dynamics: Any
    synced: Any = MISSING


@dataclass(frozen=True)
class Decision:
    """The decision for one field: `winner`'s value goes to the other side.

    `winner` is None when nothing is written. `value` is the field's synced value after
    the run. `conflict` is True when both sides changed the field to different values
    since the synced value.
    """

    field: str
    winner: System | None
    value: Any
    rule: Rule
    reason: str
    conflict: bool = False

    @property
    def target(self) -> System | None:
        return self.winner.other if self.winner is not None else None


@dataclass(frozen=True)
class ChangeTimes:
    """Modification times of the two records, for `latest_wins`."""

    hubspot: datetime | None
    dynamics: datetime | None


def decide(field: str, sides: FieldSides, flow: Direction, policy: Policy, times: ChangeTimes) -> Decision:
    """Decide one field of a linked pair by direction, synced value and conflict policy."""
    if sides.hubspot == sides.dynamics:
        return Decision(field, None, sides.hubspot, Rule.EQUAL, "both sides agree")

    if flow is Direction.CREATE_ONLY:
        value = sides.hubspot if sides.synced is MISSING else sides.synced
        return Decision(field, None, value, Rule.DIRECTION, "create_only: written when a record is created, never after")
    if flow is not Direction.BOTH:
        return _one_way(field, sides, flow)

    if sides.synced is MISSING:
        return _first_sync(field, sides, policy, times)

    hubspot_changed = sides.hubspot != sides.synced
    dynamics_changed = sides.dynamics != sides.synced
    if hubspot_changed and not dynamics_changed:
        return _win(field, sides, System.HUBSPOT, Rule.ONE_SIDE_CHANGED, "changed in HubSpot only")
    if dynamics_changed and not hubspot_changed:
        return _win(field, sides, System.DYNAMICS, Rule.ONE_SIDE_CHANGED, "changed in Dynamics only")
    return _by_policy(field, sides, policy, times, conflict=True)


def _one_way(field: str, sides: FieldSides, flow: Direction) -> Decision:
    # Only the source's changes flow; an edit on the target side stays until the source
    # changes again. The synced value of a one-way field is the source's last value.
    source = System.HUBSPOT if flow is Direction.TO_DYNAMICS else System.DYNAMICS
    value = sides.hubspot if source is System.HUBSPOT else sides.dynamics
    if sides.synced is MISSING:
        changed = not _is_empty(value)
    else:
        changed = value != sides.synced
    if not changed:
        return Decision(field, None, value, Rule.DIRECTION, f"{flow}: {source.label} value unchanged")
    return _win(field, sides, source, Rule.DIRECTION, f"{flow}: changed in {source.label}")


def _first_sync(field: str, sides: FieldSides, policy: Policy, times: ChangeTimes) -> Decision:
    # A pair linked in this run has no synced value: a value never loses to an empty one.
    if _is_empty(sides.dynamics):
        return _win(field, sides, System.HUBSPOT, Rule.NON_EMPTY, "first sync: Dynamics value is empty")
    if _is_empty(sides.hubspot):
        return _win(field, sides, System.DYNAMICS, Rule.NON_EMPTY, "first sync: HubSpot value is empty")
    return _by_policy(field, sides, policy, times, conflict=False)


def _by_policy(field: str, sides: FieldSides, policy: Policy, times: ChangeTimes, *, conflict: bool) -> Decision:
    prefix = "both changed" if conflict else "first sync"
    if policy is Policy.PREFER_NON_EMPTY:
        if _is_empty(sides.dynamics):
            return _win(field, sides, System.HUBSPOT, Rule.CONFLICT_POLICY, f"{prefix}, {policy}: Dynamics is empty", conflict)
        if _is_empty(sides.hubspot):
            return _win(field, sides, System.DYNAMICS, Rule.CONFLICT_POLICY, f"{prefix}, {policy}: HubSpot is empty", conflict)
    if policy is Policy.KEEP_FIRST:
        winner = _earliest(times)
        reason = f"{prefix}, {policy}, {_compared(times)}"
        return _win(field, sides, winner, Rule.CONFLICT_POLICY, reason, conflict)
    if policy is Policy.HUBSPOT_WINS:
        return _win(field, sides, System.HUBSPOT, Rule.CONFLICT_POLICY, f"{prefix}, {policy}", conflict)
    if policy is Policy.DYNAMICS_WINS:
        return _win(field, sides, System.DYNAMICS, Rule.CONFLICT_POLICY, f"{prefix}, {policy}", conflict)

    winner = _latest(times)
    reason = f"{prefix}, {policy}, {_compared(times)}"
    return _win(field, sides, winner, Rule.CONFLICT_POLICY, reason, conflict)


def _latest(times: ChangeTimes) -> System:
    # Ties and unknown times go to HubSpot, so the outcome never depends on input order.
    if times.dynamics is None:
        return System.HUBSPOT
    if times.hubspot is None:
        return System.DYNAMICS
    return System.DYNAMICS if times.dynamics > times.hubspot else System.HUBSPOT


def _earliest(times: ChangeTimes) -> System:
    # The change made first wins; ties and unknown times go to HubSpot, as in _latest.
    if times.dynamics is None or times.hubspot is None:
        return System.HUBSPOT if times.hubspot is not None or times.dynamics is None else System.DYNAMICS
    return System.DYNAMICS if times.dynamics < times.hubspot else System.HUBSPOT


def _win(field: str, sides: FieldSides, winner: System, rule: Rule, reason: str, conflict: bool = False) -> Decision:
    value = sides.hubspot if winner is System.HUBSPOT else sides.dynamics
    return Decision(field, winner, value, rule, reason, conflict)


def _compared(times: ChangeTimes) -> str:
    """Render the two change times with their order, such as `HubSpot 14:02:00 > Dynamics 13:40:00`."""
    sign = "vs"
    if times.hubspot is not None and times.dynamics is not None:
        if times.hubspot > times.dynamics:
            sign = ">"
        elif times.hubspot < times.dynamics:
            sign = "<"
        else:
            sign = "="
    return f"HubSpot {_clock(times.hubspot)} {sign} Dynamics {_clock(times.dynamics)}"


def _clock(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment is not None else "unknown"


def _is_empty(value: Any) -> bool:
    return value is None or value == ""
