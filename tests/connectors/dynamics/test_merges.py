"""Dataverse merges through the connector: a merged subordinate is read with `merged_into`, never as deleted."""

from __future__ import annotations

import pytest
import requests

from sync.connectors.dynamics.changes import CursorForm, cursor_form
from sync.model import Kind
from tests.connectors.dynamics.sandboxes import running_sandboxes


@pytest.fixture
def boxes(tmp_path):
    with running_sandboxes(tmp_path) as sandboxes:
        yield sandboxes


def _merge(boxes, connector, table, target, subordinate):
    """Call the Merge action with the connector's token, as a person merging in Dynamics would."""
    key = f"{table}id"
    body = {
        "Target": {"@odata.type": f"Microsoft.Dynamics.CRM.{table}", key: target},
        "Subordinate": {"@odata.type": f"Microsoft.Dynamics.CRM.{table}", key: subordinate},
        "PerformParentingChecks": False,
    }
    response = requests.post(f"{boxes.server.url}/api/data/v9.2/Merge", json=body, timeout=5,
                             headers={"Authorization": f"Bearer {connector.client.tokens.token()}"})
    assert response.status_code == 204, response.text


def _by_id(result):
    return {record.id: record for record in result.records}


def _contacts(boxes):
    return [boxes.dataverse.add_row("contacts", {"firstname": "Pat", "lastname": "Lee", "emailaddress1": address})
            for address in ("pat@example.com", "pat.lee@example.com")]


def test_full_read_merged_contact(boxes):
    target, subordinate = _contacts(boxes)
    connector = boxes.connector()
    _merge(boxes, connector, "contact", target, subordinate)

    records = _by_id(connector.read(Kind.CONTACT, None))

    assert records[subordinate].merged_into == target
    assert records[subordinate].deleted is False
    assert records[subordinate].values["statecode"] == 1
    assert records[target].merged_into is None


def test_delta_read_merged_contact(boxes):
    target, subordinate = _contacts(boxes)
    connector = boxes.connector()
    cursor = connector.read(Kind.CONTACT, None).cursor
    assert cursor_form(cursor) is CursorForm.DELTA_LINK
    boxes.clock.advance(60)
    _merge(boxes, connector, "contact", target, subordinate)

    delta = connector.read(Kind.CONTACT, cursor)

    assert [(record.id, record.merged_into, record.deleted) for record in delta.records] == [
        (subordinate, target, False)]
    assert not delta.full


def test_modifiedon_read_merged_contact(boxes):
    boxes.dataverse.set_change_tracking("contacts", False)
    target, subordinate = _contacts(boxes)
    connector = boxes.connector(modified_overlap_seconds=0)
    cursor = connector.read(Kind.CONTACT, None).cursor
    boxes.clock.advance(60)
    _merge(boxes, connector, "contact", target, subordinate)

    records = _by_id(connector.read(Kind.CONTACT, cursor))

    # The filter is `modifiedon ge cursor`, so the target, last changed at the cursor time, comes again.
    assert records[subordinate].merged_into == target
    assert records[target].merged_into is None


def test_merged_account_and_moved_contact(boxes):
    target = boxes.dataverse.add_row("accounts", {"name": "Litware"})
    subordinate = boxes.dataverse.add_row("accounts", {"name": "Litware Inc"})
    employee = boxes.dataverse.add_row("contacts", {
        "lastname": "Lee", "parentcustomerid_account@odata.bind": f"/accounts({subordinate})"})
    connector = boxes.connector()
    account_cursor = connector.read(Kind.COMPANY, None).cursor
    contact_cursor = connector.read(Kind.CONTACT, None).cursor
    boxes.clock.advance(60)
    _merge(boxes, connector, "account", target, subordinate)

    accounts = _by_id(connector.read(Kind.COMPANY, account_cursor))
    contacts = _by_id(connector.read(Kind.CONTACT, contact_cursor))

    assert accounts[subordinate].merged_into == target
    assert accounts[subordinate].deleted is False
    assert contacts[employee].refs == {Kind.COMPANY: [target]}
    assert contacts[employee].merged_into is None


def test_read_ids_merged_account(boxes):
    target = boxes.dataverse.add_row("accounts", {"name": "Litware"})
    subordinate = boxes.dataverse.add_row("accounts", {"name": "Litware Inc"})
    connector = boxes.connector()
    _merge(boxes, connector, "account", target, subordinate)

    records = {record.id: record for record in connector.read_ids(Kind.COMPANY, [subordinate, target])}

    assert records[subordinate].merged_into == target
    assert records[target].merged_into is None


def test_deals_read_without_merge_columns(boxes):
    deal = boxes.dataverse.add_row("opportunities", {"name": "Renewal"})
    record = boxes.connector().read_ids(Kind.DEAL, [deal])[0]
    assert record.merged_into is None
    assert "merged" not in record.values
