"""Plans for opportunity writes: which steps go out for each move between open, won and lost."""

from datetime import date

import pytest

from sync.connectors.base import WriteOp
from sync.connectors.dynamics.closing import InvalidStateError, StepKind, plan_deal_write

ROW_ID = "6f1c2a9e-0000-4000-8000-000000000001"
TODAY = date(2024, 5, 1)


def _row(state, status, **values):
    return {"statecode": state, "statuscode": status, "name": "Deal", "estimatedvalue": 1000.0,
            "estimatedclosedate": "2024-06-30", "actualvalue": None, "actualclosedate": None, **values}


def _kinds(plan):
    return [step.kind for step in plan.steps]


@pytest.mark.parametrize(("op", "values", "current", "expected"), [
    (WriteOp.CREATE, {"name": "D", "statecode": 0}, None, [StepKind.WRITE]),
    (WriteOp.CREATE, {"name": "D", "statecode": 1}, None, [StepKind.WRITE, StepKind.CLOSE]),
    (WriteOp.UPDATE, {"statecode": 1}, _row(0, 1), [StepKind.CLOSE]),
    (WriteOp.UPDATE, {"statecode": 2, "name": "X"}, _row(0, 1), [StepKind.WRITE, StepKind.CLOSE]),
    (WriteOp.UPDATE, {"statecode": 0}, _row(1, 3), [StepKind.REOPEN]),
    (WriteOp.UPDATE, {"statecode": 2}, _row(1, 3), [StepKind.REOPEN, StepKind.CLOSE]),
    (WriteOp.UPDATE, {"estimatedvalue": 5.0}, _row(1, 3), [StepKind.REOPEN, StepKind.WRITE, StepKind.CLOSE]),
    (WriteOp.UPDATE, {"statecode": 1, "name": "Deal"}, _row(1, 3), []),
], ids=["create-open", "create-won", "open-won", "open-lost-edit", "won-open", "won-lost", "won-edit",
        "won-unchanged"])
def test_plan_steps(op, values, current, expected):
    assert _kinds(plan_deal_write(op, ROW_ID, values, {}, current, TODAY)) == expected


def test_create_drops_statecode():
    plan = plan_deal_write(WriteOp.CREATE, ROW_ID, {"name": "D", "statecode": 0, "statuscode": 2}, {}, None, TODAY)
    assert plan.steps[0].body == {"name": "D", "statuscode": 2}


def test_create_won_close_body():
    values = {"name": "D", "statecode": 1, "estimatedvalue": 7.0, "estimatedclosedate": "2024-07-01"}
    close = plan_deal_write(WriteOp.CREATE, ROW_ID, values, {}, None, TODAY).steps[1]
    assert close.action == "WinOpportunity"
    assert close.body["Status"] == 3
    assert close.body["OpportunityClose"]["actualrevenue"] == 7.0
    assert close.body["OpportunityClose"]["actualend"] == "2024-07-01"
    assert close.body["OpportunityClose"]["opportunityid@odata.bind"] == f"/opportunities({ROW_ID})"


def test_create_lost_end_today():
    close = plan_deal_write(WriteOp.CREATE, ROW_ID, {"statecode": 2}, {}, None, TODAY).steps[1]
    assert (close.action, close.body["Status"]) == ("LoseOpportunity", 4)
    assert close.body["OpportunityClose"]["actualend"] == "2024-05-01"


def test_actual_columns_go_to_action():
    values = {"statecode": 1, "actualvalue": 9.0, "actualclosedate": "2024-04-02", "name": "X"}
    plan = plan_deal_write(WriteOp.UPDATE, ROW_ID, values, {}, _row(0, 1), TODAY)
    assert plan.steps[0].body == {"name": "X"}
    assert plan.steps[1].body["OpportunityClose"]["actualrevenue"] == 9.0
    assert plan.steps[1].body["OpportunityClose"]["actualend"] == "2024-04-02"


def test_reclose_keeps_status_and_end():
    current = _row(2, 5, actualclosedate="2024-03-03")
    plan = plan_deal_write(WriteOp.UPDATE, ROW_ID, {"name": "Y"}, {}, current, TODAY)
    close = plan.steps[-1]
    assert close.body["Status"] == 5
    assert close.body["OpportunityClose"]["actualend"] == "2024-03-03"


def test_amount_edit_updates_revenue():
    current = _row(1, 3, actualvalue=1000.0)
    plan = plan_deal_write(WriteOp.UPDATE, ROW_ID, {"estimatedvalue": 1500.0}, {}, current, TODAY)
    assert plan.steps[-1].body["OpportunityClose"]["actualrevenue"] == 1500.0


def test_restore_closes_as_before():
    current = _row(1, 3, actualvalue=800.0, actualclosedate="2024-02-02")
    restore = plan_deal_write(WriteOp.UPDATE, ROW_ID, {"statecode": 2}, {}, current, TODAY).restore
    assert (restore.kind, restore.action, restore.body["Status"]) == (StepKind.RESTORE, "WinOpportunity", 3)
    assert restore.body["OpportunityClose"]["actualrevenue"] == 800.0
    assert restore.body["OpportunityClose"]["actualend"] == "2024-02-02"


def test_binds_written_before_close():
    binds = {"customerid_account@odata.bind": "/accounts(1)"}
    plan = plan_deal_write(WriteOp.UPDATE, ROW_ID, {"statecode": 1}, binds, _row(0, 1), TODAY)
    assert plan.steps[0].body == binds


def test_reopen_status_on_hold():
    plan = plan_deal_write(WriteOp.UPDATE, ROW_ID, {"statecode": 0, "statuscode": 2}, {}, _row(1, 3), TODAY)
    assert plan.steps[0].body == {"statecode": 0, "statuscode": 2}


@pytest.mark.parametrize("values", [{"statecode": 1, "statuscode": 1}, {"statecode": 7}, {"statuscode": 3}],
                         ids=["won-in-progress", "unknown-state", "open-won-status"])
def test_invalid_state_rejected(values):
    with pytest.raises(InvalidStateError):
        plan_deal_write(WriteOp.UPDATE, ROW_ID, values, {}, _row(0, 1), TODAY)
