"""The Dataverse sandbox closes opportunities only through WinOpportunity and LoseOpportunity."""

import uuid

import requests

from sync.sandbox.dataverse import DataverseSandbox

HEADERS = {"Authorization": "Bearer good", "Accept": "application/json"}


def _call(box, method, path, body=None, **headers):
    return requests.request(method, f"{box.url}/{path}", json=body, headers={**HEADERS, **headers}, timeout=5)


def _close_body(row_id, status, **close):
    return {"Status": status, "OpportunityClose": {"subject": "Closed",
                                                   "opportunityid@odata.bind": f"/opportunities({row_id})", **close}}


def _row(box, row_id):
    return next(row for row in box.rows("opportunities") if row["opportunityid"] == row_id)


def test_patch_close_rejected(box):
    row_id = box.add_row("opportunities", {"name": "Deal"})
    response = _call(box, "PATCH", f"opportunities({row_id})", {"statecode": 1, "statuscode": 3})
    assert response.status_code == 400
    assert "WinOpportunity" in response.json()["error"]["message"]
    assert _row(box, row_id)["statecode"] == 0


def test_patch_won_to_lost_rejected(box):
    row_id = box.add_row("opportunities", {"name": "Deal", "statecode": 1, "statuscode": 3})
    response = _call(box, "PATCH", f"opportunities({row_id})", {"statecode": 2, "statuscode": 4})
    assert response.status_code == 400


def test_statecode_on_create_rejected(box):
    response = _call(box, "POST", "opportunities", {"name": "Deal", "statecode": 1})
    assert response.status_code == 400
    assert "not valid for create" in response.json()["error"]["message"]
    assert box.rows("opportunities") == []


def test_statecode_on_upsert_create_rejected(box):
    response = _call(box, "PATCH", f"opportunities({uuid.uuid4()})", {"name": "Deal", "statecode": 0},
                     **{"If-None-Match": "*"})
    assert response.status_code == 400


def test_seeding_closed_row(box):
    row_id = box.add_row("opportunities", {"name": "Deal", "statecode": 2, "statuscode": 5})
    assert (_row(box, row_id)["statecode"], _row(box, row_id)["statuscode"]) == (2, 5)


def test_lose_sets_actuals(box):
    row_id = box.add_row("opportunities", {"name": "Deal", "estimatedvalue": 900})
    body = _close_body(row_id, 5, actualrevenue=100, actualend="2024-04-30")
    assert _call(box, "POST", "LoseOpportunity", body).status_code == 204
    row = _row(box, row_id)
    assert (row["statecode"], row["statuscode"]) == (2, 5)
    assert (row["actualvalue"], row["actualclosedate"]) == (100.0, "2024-04-30")


def test_win_creates_close_activity(box):
    row_id = box.add_row("opportunities", {"name": "Deal"})
    _call(box, "POST", "WinOpportunity", _close_body(row_id, 3, actualrevenue=250, actualend="2024-04-30"))
    activity = box.rows("opportunitycloses")[0]
    assert activity["_opportunityid_value"] == row_id
    assert (activity["subject"], activity["actualrevenue"], activity["actualend"]) == ("Closed", 250.0, "2024-04-30")


def test_close_activities_queryable(box):
    row_id = box.add_row("opportunities", {"name": "Deal"})
    _call(box, "POST", "WinOpportunity", _close_body(row_id, 3))
    body = _call(box, "GET", "opportunitycloses?$select=subject").json()
    assert [item["subject"] for item in body["value"]] == ["Closed"]


def test_win_without_end_uses_today(box):
    row_id = box.add_row("opportunities", {"name": "Deal"})
    _call(box, "POST", "WinOpportunity", _close_body(row_id, 3))
    assert _row(box, row_id)["actualclosedate"] == "2024-05-01"


def test_wrong_status_rejected(box):
    row_id = box.add_row("opportunities", {"name": "Deal"})
    response = _call(box, "POST", "LoseOpportunity", _close_body(row_id, 3))
    assert response.status_code == 400
    assert "[4, 5]" in response.json()["error"]["message"]
    assert box.rows("opportunitycloses") == []


def test_close_closed_rejected(box):
    row_id = box.add_row("opportunities", {"name": "Deal", "statecode": 1, "statuscode": 3})
    assert _call(box, "POST", "LoseOpportunity", _close_body(row_id, 4)).status_code == 400


def test_bad_close_column_keeps_open(box):
    row_id = box.add_row("opportunities", {"name": "Deal"})
    response = _call(box, "POST", "WinOpportunity", _close_body(row_id, 3, nosuch=1))
    assert response.status_code == 400
    assert _row(box, row_id)["statecode"] == 0


def test_reopen_then_edit(box):
    row_id = box.add_row("opportunities", {"name": "Deal", "statecode": 1, "statuscode": 3})
    assert _call(box, "PATCH", f"opportunities({row_id})", {"statecode": 0, "statuscode": 1}).status_code == 204
    assert _call(box, "PATCH", f"opportunities({row_id})", {"name": "Edited"}).status_code == 204
    assert _row(box, row_id)["name"] == "Edited"


def test_state_patch_when_allowed(box):
    permissive = DataverseSandbox(lambda token: True, allow_state_patch=True)
    row_id = permissive.add_row("opportunities", {"name": "Deal"})
    permissive.store.update("opportunities", row_id, {"statecode": 1, "statuscode": 3}, "api")
    assert _row(permissive, row_id)["statecode"] == 1
