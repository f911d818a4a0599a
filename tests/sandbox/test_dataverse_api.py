"""The Dataverse sandbox over HTTP with requests: writes, preconditions, $batch, metadata."""

import json
import uuid

import requests


HEADERS = {"Authorization": "Bearer good", "Accept": "application/json"}


def _call(box, method, path, body=None, **headers):
    return requests.request(method, f"{box.url}/{path}", json=body, headers={**HEADERS, **headers}, timeout=5)


def test_bearer_required(box):
    assert requests.get(f"{box.url}/contacts", timeout=5).status_code == 401


def test_create_204_entity_id(box):
    response = _call(box, "POST", "contacts", {"lastname": "Lee"})
    assert response.status_code == 204
    assert response.headers["OData-EntityId"].startswith(f"{box.url}/contacts(")


def test_create_representation(box):
    response = _call(box, "POST", "accounts", {"name": "Litware", "revenue": 5000},
                     Prefer='return=representation,odata.include-annotations="*"')
    assert response.status_code == 201
    assert response.json()["revenue@OData.Community.Display.V1.FormattedValue"] == "$5,000.00"


def test_upsert_if_match_star_404(box):
    response = _call(box, "PATCH", f"contacts({uuid.uuid4()})", {"lastname": "Lee"}, **{"If-Match": "*"})
    assert response.status_code == 404
    assert "Does Not Exist" in response.json()["error"]["message"]


def test_upsert_creates_with_id(box):
    row_id = str(uuid.uuid4())
    assert _call(box, "PATCH", f"contacts({row_id})", {"lastname": "Lee"}).status_code == 204
    assert box.rows("contacts")[0]["contactid"] == row_id


def test_if_none_match_blocks_update(box):
    row_id = box.add_row("contacts", {"lastname": "Lee"})
    response = _call(box, "PATCH", f"contacts({row_id})", {"lastname": "X"}, **{"If-None-Match": "*"})
    assert response.status_code == 412


def test_stale_etag_412(box):
    row_id = box.add_row("contacts", {"lastname": "Lee"})
    stale = box.rows("contacts")[0]["@odata.etag"]
    box.update_row("contacts", row_id, {"lastname": "Moved"})
    response = _call(box, "PATCH", f"contacts({row_id})", {"lastname": "X"}, **{"If-Match": stale})
    assert response.status_code == 412


def test_etag_bumped_on_update(box):
    row_id = box.add_row("contacts", {"lastname": "Lee"})
    before = box.rows("contacts")[0]["@odata.etag"]
    _call(box, "PATCH", f"contacts({row_id})", {"lastname": "X"})
    assert box.rows("contacts")[0]["@odata.etag"] != before


def test_bind_missing_row(box):
    response = _call(box, "POST", "contacts",
                     {"lastname": "Lee", "parentcustomerid_account@odata.bind": f"/accounts({uuid.uuid4()})"})
    assert response.status_code == 404
    assert "account With Id" in response.json()["error"]["message"]


def test_bind_wrong_case(box):
    account = box.add_row("accounts", {"name": "Litware"})
    response = _call(box, "POST", "contacts", {"ParentCustomerId_account@odata.bind": f"/accounts({account})"})
    assert response.status_code == 400


def test_unknown_column_400(box):
    assert _call(box, "POST", "contacts", {"nosuch": 1}).status_code == 400


def test_overriddencreatedon(box):
    _call(box, "POST", "contacts", {"lastname": "Lee", "overriddencreatedon": "2020-01-02T03:04:05Z"})
    assert box.rows("contacts")[0]["createdon"] == "2020-01-02T03:04:05Z"


def test_closed_opportunity_read_only(box):
    row_id = box.add_row("opportunities", {"name": "Deal", "statecode": 1, "statuscode": 3})
    assert _call(box, "PATCH", f"opportunities({row_id})", {"name": "X"}).status_code == 400
    assert _call(box, "PATCH", f"opportunities({row_id})", {"statecode": 0, "statuscode": 1}).status_code == 204


def test_win_opportunity(box):
    row_id = box.add_row("opportunities", {"name": "Deal", "estimatedvalue": 900})
    body = {"Status": 3, "OpportunityClose": {"opportunityid@odata.bind": f"/opportunities({row_id})"}}
    assert _call(box, "POST", "WinOpportunity", body).status_code == 204
    row = box.rows("opportunities")[0]
    assert (row["statecode"], row["statuscode"], row["actualvalue"]) == (1, 3, 900.0)


def test_top_without_next_link(box):
    for number in range(3):
        box.add_row("contacts", {"lastname": f"L{number}"})
    body = _call(box, "GET", "contacts?$top=2").json()
    assert len(body["value"]) == 2
    assert "@odata.nextLink" not in body


def test_delete_then_404(box):
    row_id = box.add_row("contacts", {"lastname": "Lee"})
    assert _call(box, "DELETE", f"contacts({row_id})").status_code == 204
    assert _call(box, "DELETE", f"contacts({row_id})").status_code == 404


def _batch_body(operations):
    lines = ["--batch_1", "Content-Type: multipart/mixed; boundary=changeset_1", ""]
    for number, (method, url, body) in enumerate(operations, start=1):
        lines += ["--changeset_1", "Content-Type: application/http", "Content-Transfer-Encoding: binary",
                  f"Content-ID: {number}", "", f"{method} {url} HTTP/1.1", "Content-Type: application/json", "",
                  json.dumps(body)]
    lines += ["--changeset_1--", "--batch_1--", ""]
    return "\r\n".join(lines)


def test_changeset_rolls_back(box):
    body = _batch_body([("POST", "contacts", {"lastname": "Kept?"}), ("POST", "contacts", {"nosuch": 1})])
    response = requests.post(f"{box.url}/$batch", data=body, timeout=5,
                             headers={**HEADERS, "Content-Type": "multipart/mixed; boundary=batch_1"})
    assert response.status_code == 400
    assert box.rows("contacts") == []


def test_changeset_commits(box):
    body = _batch_body([("POST", f"{box.url}/accounts", {"name": "A"}), ("POST", "contacts", {"lastname": "B"})])
    response = requests.post(f"{box.url}/$batch", data=body, timeout=5,
                             headers={**HEADERS, "Content-Type": "multipart/mixed; boundary=batch_1"})
    assert response.status_code == 200
    assert len(box.rows("accounts")) == 1
    assert len(box.rows("contacts")) == 1


def test_batch_over_1000_rejected(box):
    body = _batch_body([("POST", "contacts", {"lastname": "x"})] * 1001)
    response = requests.post(f"{box.url}/$batch", data=body, timeout=5,
                             headers={**HEADERS, "Content-Type": "multipart/mixed; boundary=batch_1"})
    assert response.status_code == 400


def test_attributes_metadata(box):
    attributes = _call(box, "GET", "EntityDefinitions(LogicalName='opportunity')/Attributes").json()["value"]
    by_name = {attribute["LogicalName"]: attribute for attribute in attributes}
    assert by_name["statecode"]["IsValidForCreate"] is False
    assert [option["Value"] for option in by_name["salesstage"]["OptionSet"]["Options"]] == [0, 1, 2, 3]


def test_dump_load_round_trip(box):
    box.add_row("contacts", {"lastname": "Lee"})
    state = json.loads(json.dumps(box.dump()))
    box.delete_row("contacts", box.rows("contacts")[0]["contactid"])
    box.load(state)
    assert [row["lastname"] for row in box.rows("contacts")] == ["Lee"]
