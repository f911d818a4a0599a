"""Plan the requests that move a Dataverse opportunity between open, won and lost.

Dataverse rules behind the plans (Web API v9.2):
- `statecode` is not valid for create, so an opportunity is created open.
- Only the unbound actions `WinOpportunity` and `LoseOpportunity` close an opportunity.
  They take `Status` (the statuscode) and an `OpportunityClose` activity, whose
  `actualrevenue` and `actualend` become `actualvalue` and `actualclosedate`.
- A closed opportunity is read-only until a PATCH of statecode 0 reopens it, so editing a
  closed row or moving it from won to lost reopens it first and closes it again last.

Planning is pure: `plan_deal_write` turns one write request and the row's current state
into steps, and the connector sends them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from typing import Any

from sync.connectors.base import WriteOp


class OpportunityState(enum.IntEnum):
    OPEN = 0
    WON = 1
    LOST = 2


# The statuscode values of each statecode; the first is the default.
STATUSES: dict[OpportunityState, tuple[int, ...]] = {
    OpportunityState.OPEN: (1, 2),
    OpportunityState.WON: (3,),
    OpportunityState.LOST: (4, 5),
}
CLOSE_ACTIONS = {OpportunityState.WON: "WinOpportunity", OpportunityState.LOST: "LoseOpportunity"}
STATE_COLUMNS = frozenset({"statecode", "statuscode"})
# Columns the close actions set from `actualrevenue` and `actualend`.
CLOSE_COLUMNS = frozenset({"actualvalue", "actualclosedate"})
# Columns read before planning: the state, and what a re-close and the unchanged check need.
CURRENT_COLUMNS = ["statecode", "statuscode", "name", "salesstage", "estimatedvalue", "estimatedclosedate",
                   "actualvalue", "actualclosedate"]


class StepKind(enum.StrEnum):
    WRITE = "write"
    REOPEN = "reopen"
    CLOSE = "close"
    # Close the row again as it was, after a later step failed on a reopened row.
    RESTORE = "restore"


@dataclass(frozen=True)
class Step:
    """One request: a PATCH of `body` (WRITE, REOPEN) or a close action with `body` as parameters."""

    kind: StepKind
    body: dict[str, Any]
    action: str | None = None

    def describe(self) -> str:
        """Return the step in words, for error messages."""
        if self.kind is StepKind.WRITE:
            return f"writing {', '.join(sorted(self.body)) or 'no columns'} of the opportunity"
        if self.kind is StepKind.REOPEN:
            return f"reopening the closed opportunity (statuscode {self.body['statuscode']})"
        verb = "closing the opportunity again as it was" if self.kind is StepKind.RESTORE else "closing the opportunity"
        return f"{verb} with {self.action} (Status {self.body['Status']})"


@dataclass
class StatePlan:
    """The steps of one write, in order. An empty list means there is nothing to send.

    `restore` closes the row as it was, and is sent when a step fails after REOPEN succeeded.
    """

    steps: list[Step]
    restore: Step | None = None


class InvalidStateError(ValueError):
    """The requested statecode and statuscode do not go together; nothing was sent."""


def plan_deal_write(op: WriteOp, record_id: str, values: dict[str, Any], binds: dict[str, str],
                    current: dict[str, Any] | None, today: date) -> StatePlan:
    """Plan the requests for one opportunity write.

    `current` is the row as read before the write, or None when it does not exist.
    `today` is the fallback `actualend`. Raises `InvalidStateError` for a statecode
    outside 0-2 or a statuscode that does not belong to the statecode.
    """
    requested = _requested_state(values.get("statecode"))
    status = values.get("statuscode")
    columns = {**{name: value for name, value in values.items() if name not in STATE_COLUMNS}, **binds}
    if current is None:
        return _plan_new(op, record_id, requested, status, columns, today)

    state = OpportunityState(current["statecode"])
    target = state if requested is None else requested
    _check_status(target, status)
    if state is OpportunityState.OPEN:
        return _plan_open_row(record_id, target, status, columns, current, today)
    return _plan_closed_row(record_id, state, target, status, _changed(columns, current), current, today)


def _plan_new(op: WriteOp, record_id: str, requested: OpportunityState | None, status: int | None,
              columns: dict[str, Any], today: date) -> StatePlan:
    target = requested or OpportunityState.OPEN
    _check_status(target, status)
    if target is OpportunityState.OPEN:
        return StatePlan([Step(StepKind.WRITE, _with_status(columns, status))])
    if op is WriteOp.UPDATE:
        # The row is missing: send the columns alone and let the server report it.
        return StatePlan([Step(StepKind.WRITE, columns)])

    close = _close_step(StepKind.CLOSE, record_id, target, status, columns, {}, today)
    return StatePlan([Step(StepKind.WRITE, _without_close_columns(columns)), close])


def _plan_open_row(record_id: str, target: OpportunityState, status: int | None, columns: dict[str, Any],
                   current: dict[str, Any], today: date) -> StatePlan:
    if target is OpportunityState.OPEN:
        return StatePlan([Step(StepKind.WRITE, _with_status(columns, status))])

    steps = []
    written = _without_close_columns(columns)
    if written:
        steps.append(Step(StepKind.WRITE, written))
    steps.append(_close_step(StepKind.CLOSE, record_id, target, status, columns, current, today))
    return StatePlan(steps)


def _plan_closed_row(record_id: str, state: OpportunityState, target: OpportunityState, status: int | None,
                     columns: dict[str, Any], current: dict[str, Any], today: date) -> StatePlan:
    unchanged_status = status is None or status == current["statuscode"]
    if target is state and not columns and unchanged_status:
        return StatePlan([])

    restore = _close_step(StepKind.RESTORE, record_id, state, current["statuscode"], {}, current, today)
    if target is OpportunityState.OPEN:
        reopen = Step(StepKind.REOPEN, {"statecode": 0, "statuscode": status or STATUSES[target][0]})
        return StatePlan([reopen, *([Step(StepKind.WRITE, columns)] if columns else [])], restore)

    steps = [Step(StepKind.REOPEN, {"statecode": 0, "statuscode": STATUSES[OpportunityState.OPEN][0]})]
    written = _without_close_columns(columns)
    if written:
        steps.append(Step(StepKind.WRITE, written))
    if target is state and status is None:
        status = current["statuscode"]
    kept = current if target is state else {**current, "actualvalue": None, "actualclosedate": None}
    steps.append(_close_step(StepKind.CLOSE, record_id, target, status, columns, kept, today))
    return StatePlan(steps, restore)


def _close_step(kind: StepKind, record_id: str, target: OpportunityState, status: int | None,
                columns: dict[str, Any], current: dict[str, Any], today: date) -> Step:
    """Build a close action; values in `columns` win over those in `current`.

    `actualrevenue` is the requested actualvalue, else the current actualvalue unless the
    estimated value changes, else (except for RESTORE) the estimated value. `actualend` is
    the requested or current actualclosedate, else the estimated close date, else `today`.
    """
    revenue = columns.get("actualvalue")
    if revenue is None and "estimatedvalue" not in columns:
        revenue = current.get("actualvalue")
    if revenue is None and kind is StepKind.CLOSE:
        revenue = columns.get("estimatedvalue", current.get("estimatedvalue"))
    end = columns.get("actualclosedate") or current.get("actualclosedate")
    end = end or columns.get("estimatedclosedate") or current.get("estimatedclosedate") or today.isoformat()

    name = columns.get("name") or current.get("name")
    close: dict[str, Any] = {
        "subject": f"{target.name.title()}: {name}" if name else target.name.title(),
        "opportunityid@odata.bind": f"/opportunities({record_id})",
        "actualend": str(end)[:10],
    }
    if revenue is not None:
        close["actualrevenue"] = revenue
    body = {"Status": status or STATUSES[target][0], "OpportunityClose": close}
    return Step(kind, body, CLOSE_ACTIONS[target])


def _requested_state(value: Any) -> OpportunityState | None:
    if value is None:
        return None
    try:
        return OpportunityState(value)
    except ValueError:
        raise InvalidStateError(f"statecode {value!r} is not valid; use 0 (open), 1 (won) or 2 (lost)") from None


def _check_status(target: OpportunityState, status: int | None) -> None:
    if status is not None and status not in STATUSES[target]:
        raise InvalidStateError(
            f"statuscode {status!r} is not valid for statecode {int(target)} ({target.name.lower()}); "
            f"use one of {list(STATUSES[target])}"
        )


def _with_status(columns: dict[str, Any], status: int | None) -> dict[str, Any]:
    return columns if status is None else {**columns, "statuscode": status}


def _without_close_columns(columns: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in columns.items() if name not in CLOSE_COLUMNS}


def _changed(columns: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """Drop the columns whose value the row already has, so an unchanged closed row is left alone."""
    return {name: value for name, value in columns.items() if name not in current or current[name] != value}
