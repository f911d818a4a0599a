"""The Merge action of the Dataverse sandbox over HTTP: the subordinate, re-parenting, change tracking, errors."""


import pytest
import requests


HEADERS = {"Authorization": "Bearer good", "Accept": "application/json"}
ANNOTATIONS = 'odata.include-annotations="*"'
LOOKUP_NAME = "@Microsoft.Dynamics.CRM.lookuplogicalname"
OTHER_ID = "00000000-0000-4000-8000-000000000009"


def _merge_body(table, target, subordinate, update=None, checks=False):
    key = f"{table}id"
    body = {
        "Target": {"@odata.type": f"Microsoft.Dynamics.CRM.{table}", key: target},
        "Subordinate": {"@odata.type": f"Microsoft.Dynamics.CRM.{table}", key: subordinate},
        "PerformParentingChecks": checks,
    }
    if update is not None:
        body["UpdateContent"] = {"@odata.type": f"Microsoft.Dynamics.CRM.{table}", **update}
    return body


def _merge(box, body):
    return requests.post(f"{box.url}/Merge", json=body, headers=HEADERS, timeout=5)


def _row(box, entity_set, row_id):
    response = requests.get(f"{box.url}/{entity_set}({row_id})", headers={**HEADERS, "Prefer": ANNOTATIONS}, timeout=5)
    return response.json()


def test_merge_contact_subordinate(box):
    target = box.add_row("contacts", {"lastname": "Lee", "emailaddress1": "lee@example.com"})
    subordinate = box.add_row("contacts", {"lastname": "Lee", "emailaddress1": "lee@example.com"})

    response = _merge(box, _merge_body("contact", target, subordinate, {"jobtitle": "Buyer"}))

    assert response.status_code == 204
    merged = _row(box, "contacts", subordinate)
    assert (merged["statecode"], merged["statuscode"], merged["merged"]) == (1, 2, True)
    assert merged["_masterid_value"] == target
    assert merged["_masterid_value" + LOOKUP_NAME] == "contact"
    survivor = _row(box, "contacts", target)
    assert (survivor["statecode"], survivor["merged"], survivor["_masterid_value"]) == (0, False, None)
    assert survivor["jobtitle"] == "Buyer"


def test_merge_contact_reparents(box):
    target = box.add_row("contacts", {"lastname": "Lee"})
    subordinate = box.add_row("contacts", {"lastname": "Lee"})
    customer = box.add_row("opportunities", {"name": "A", "customerid_contact@odata.bind": f"/contacts({subordinate})"})
    contact_of = box.add_row("opportunities", {"name": "B", "parentcontactid@odata.bind": f"/contacts({subordinate})"})
    account = box.add_row("accounts", {"name": "Litware", "primarycontactid@odata.bind": f"/contacts({subordinate})"})
    other = box.add_row("opportunities", {"name": "C", "customerid_contact@odata.bind": f"/contacts({target})"})

    assert _merge(box, _merge_body("contact", target, subordinate)).status_code == 204

    assert _row(box, "opportunities", customer)["_customerid_value"] == target
    assert _row(box, "opportunities", customer)["_customerid_value" + LOOKUP_NAME] == "contact"
    assert _row(box, "opportunities", contact_of)["_parentcontactid_value"] == target
    assert _row(box, "accounts", account)["_primarycontactid_value"] == target
    assert _row(box, "opportunities", other)["_customerid_value"] == target


def test_merge_account_reparents(box):
    target = box.add_row("accounts", {"name": "Litware"})
    subordinate = box.add_row("accounts", {"name": "Litware Inc"})
    employee = box.add_row("contacts", {"lastname": "Lee",
                                        "parentcustomerid_account@odata.bind": f"/accounts({subordinate})"})
    deal = box.add_row("opportunities", {"name": "A", "customerid_account@odata.bind": f"/accounts({subordinate})"})
    unrelated = box.add_row("contacts", {"lastname": "Ode"})

    assert _merge(box, _merge_body("account", target, subordinate)).status_code == 204

    assert _row(box, "accounts", subordinate)["_masterid_value"] == target
    assert _row(box, "contacts", employee)["_parentcustomerid_value"] == target
    assert _row(box, "opportunities", deal)["_customerid_value"] == target
    assert _row(box, "contacts", unrelated)["_parentcustomerid_value"] is None


def test_merge_in_change_tracking(box):
    target = box.add_row("accounts", {"name": "Litware"})
    subordinate = box.add_row("accounts", {"name": "Litware Inc"})
    employee = box.add_row("contacts", {"lastname": "Lee",
                                        "parentcustomerid_account@odata.bind": f"/accounts({subordinate})"})
    tracked = {"Prefer": "odata.track-changes"}
    accounts = requests.get(f"{box.url}/accounts?$select=name,merged,_masterid_value", headers={**HEADERS, **tracked},
                            timeout=5).json()["@odata.deltaLink"]
    contacts = requests.get(f"{box.url}/contacts?$select=lastname,_parentcustomerid_value",
                            headers={**HEADERS, **tracked}, timeout=5).json()["@odata.deltaLink"]

    _merge(box, _merge_body("account", target, subordinate))

    account_delta = requests.get(accounts, headers={**HEADERS, **tracked}, timeout=5).json()["value"]
    contact_delta = requests.get(contacts, headers={**HEADERS, **tracked}, timeout=5).json()["value"]
    assert [(row["accountid"], row["merged"], row["_masterid_value"]) for row in account_delta] == [
        (subordinate, True, target)]
    assert [(row["contactid"], row["_parentcustomerid_value"]) for row in contact_delta] == [(employee, target)]


def test_merge_twice_rejected(box):
    target = box.add_row("contacts", {"lastname": "Lee"})
    subordinate = box.add_row("contacts", {"lastname": "Lee"})
    _merge(box, _merge_body("contact", target, subordinate))

    response = _merge(box, _merge_body("contact", target, subordinate))

    assert response.status_code == 400
    assert "is inactive" in response.json()["error"]["message"]


@pytest.mark.parametrize(("change", "expected"), [
    (lambda body: body.update(Subordinate={"@odata.type": "Microsoft.Dynamics.CRM.account", "accountid": OTHER_ID}),
     "only rows of one table"),
    (lambda body: body["Target"].pop("@odata.type"), "needs an '@odata.type' annotation"),
    (lambda body: body["Target"].pop("contactid"), "needs the key 'contactid'"),
    (lambda body: body.pop("PerformParentingChecks"), "'PerformParentingChecks' is missing"),
    (lambda body: body.pop("Subordinate"), "'Subordinate' is missing"),
], ids=["two-tables", "no-type", "no-key", "no-checks", "no-subordinate"])
def test_merge_invalid_request(box, change, expected):
    target = box.add_row("contacts", {"lastname": "Lee"})
    subordinate = box.add_row("contacts", {"lastname": "Lee"})
    body = _merge_body("contact", target, subordinate)
    change(body)

    response = _merge(box, body)

    assert response.status_code == 400
    assert expected in response.json()["error"]["message"]
    assert box.rows("contacts")[1]["merged"] is False


def test_merge_same_row_rejected(box):
    target = box.add_row("contacts", {"lastname": "Lee"})
    assert _merge(box, _merge_body("contact", target, target)).status_code == 400


def test_merge_opportunity_rejected(box):
    first = box.add_row("opportunities", {"name": "A"})
    second = box.add_row("opportunities", {"name": "B"})
    response = _merge(box, _merge_body("opportunity", first, second))
    assert response.status_code == 400
    assert "does not support the table 'opportunity'" in response.json()["error"]["message"]


def test_merge_unknown_subordinate_404(box):
    target = box.add_row("contacts", {"lastname": "Lee"})
    assert _merge(box, _merge_body("contact", target, OTHER_ID)).status_code == 404


def test_merge_invalid_update_changes_nothing(box):
    target = box.add_row("contacts", {"lastname": "Lee"})
    subordinate = box.add_row("contacts", {"lastname": "Lee"})
    before = box.dump()

    response = _merge(box, _merge_body("contact", target, subordinate, {"fullname": "Read Only"}))

    assert response.status_code == 400
    assert "not valid for update" in response.json()["error"]["message"]
    assert box.dump() == before


def test_merge_parenting_checks(box):
    first = box.add_row("accounts", {"name": "Litware"})
    second = box.add_row("accounts", {"name": "Contoso"})
    target = box.add_row("contacts", {"lastname": "Lee", "parentcustomerid_account@odata.bind": f"/accounts({first})"})
    subordinate = box.add_row("contacts", {"lastname": "Lee",
                                           "parentcustomerid_account@odata.bind": f"/accounts({second})"})

    checked = _merge(box, _merge_body("contact", target, subordinate, checks=True))
    unchecked = _merge(box, _merge_body("contact", target, subordinate, checks=False))

    assert checked.status_code == 400
    assert "different parents" in checked.json()["error"]["message"]
    assert unchecked.status_code == 204
    assert _row(box, "contacts", target)["_parentcustomerid_value"] == first
