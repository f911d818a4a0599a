"""Reads of typed Dataverse values, large batches with a bad row, and timeouts, through the connector."""

from __future__ import annotations

import time
import uuid
from collections import Counter

import pytest

from sync.connectors.base import WriteOp, WriteRequest
from sync.model import Kind
from sync.sandbox.dataverse_store import BASE_CURRENCY_ID
from tests.connectors.dynamics.sandboxes import running_sandboxes

LOOKUP = "@Microsoft.Dynamics.CRM.lookuplogicalname"


@pytest.fixture
def boxes(tmp_path):
    with running_sandboxes(tmp_path) as sandboxes:
        yield sandboxes


def _deal(boxes):
    account = boxes.dataverse.add_row("accounts", {"name": "Litware"})
    owner = boxes.dataverse.add_row("systemusers", {"fullname": "Ann Ops"})
    deal = boxes.dataverse.add_row("opportunities", {
        "name": "Big", "salesstage": 2, "estimatedvalue": 1234.5, "estimatedclosedate": "2024-06-30",
        "customerid_account@odata.bind": f"/accounts({account})", "ownerid@odata.bind": f"/systemusers({owner})",
    })
    columns = {Kind.DEAL: ["name", "salesstage", "estimatedvalue", "estimatedclosedate"]}
    record = boxes.connector(columns=columns).read_ids(Kind.DEAL, [deal])[0]
    return record, account, owner


def test_picklist_integer(boxes):
    record, _, _ = _deal(boxes)
    assert record.values["salesstage"] == 2


def test_money_with_currency(boxes):
    record, _, _ = _deal(boxes)
    assert record.values["estimatedvalue"] == 1234.5
    assert record.values["_transactioncurrencyid_value"] == BASE_CURRENCY_ID


def test_date_only_plain_date(boxes):
    record, _, _ = _deal(boxes)
    assert record.values["estimatedclosedate"] == "2024-06-30"


def test_customer_lookup_target(boxes):
    record, account, _ = _deal(boxes)
    assert record.values["_customerid_value"] == account
    assert record.values["_customerid_value" + LOOKUP] == "account"
    assert record.refs == {Kind.COMPANY: [account]}


def test_owner_lookup_target(boxes):
    record, _, owner = _deal(boxes)
    assert record.values["_ownerid_value"] == owner
    assert record.values["_ownerid_value" + LOOKUP] == "systemuser"


def test_parent_customer_contact_no_company(boxes):
    parent = boxes.dataverse.add_row("contacts", {"lastname": "Parent"})
    child = boxes.dataverse.add_row("contacts", {"lastname": "Child",
                                                 "parentcustomerid_contact@odata.bind": f"/contacts({parent})"})
    record = boxes.connector().read_ids(Kind.CONTACT, [child])[0]
    assert record.values["_parentcustomerid_value" + LOOKUP] == "contact"
    assert record.refs == {}


def test_one_bad_row_of_200(boxes):
    requests = [WriteRequest(WriteOp.CREATE, {"lastname": f"L{number}"}, record_id=str(uuid.uuid4()))
                for number in range(200)]
    requests[117] = WriteRequest(WriteOp.CREATE, {"lastname": "x" * 51}, record_id=str(uuid.uuid4()))
    results = boxes.connector(batch_size=200).write(Kind.CONTACT, requests)
    assert [number for number, result in enumerate(results) if not result.ok] == [117]
    assert "maximum allowed length" in str(results[117].error)
    names = Counter(row["lastname"] for row in boxes.dataverse.rows("contacts"))
    assert len(names) == 199
    assert set(names.values()) == {1}
    assert boxes.dataverse.router.counts["dataverse.batch"] == 1


def test_batch_of_1000_one_request(boxes):
    requests = [WriteRequest(WriteOp.CREATE, {"lastname": f"L{number}"}, record_id=str(uuid.uuid4()))
                for number in range(1000)]
    results = boxes.connector(batch_size=1000).write(Kind.CONTACT, requests)
    assert all(result.ok for result in results)
    assert boxes.dataverse.router.counts["dataverse.batch"] == 1


def test_timed_out_batch_no_duplicate(boxes):
    requests = [WriteRequest(WriteOp.CREATE, {"lastname": f"L{number}"}, record_id=str(uuid.uuid4()))
                for number in range(3)]
    # The first batch is still written after the client gave up on it, as a slow server would.
    boxes.dataverse.inject_delay(r"/\$batch$", 0.6)
    results = boxes.connector(timeout_seconds=0.2).write(Kind.CONTACT, requests)
    time.sleep(0.8)  # the delayed first batch runs to its end after the retry
    assert all(result.ok for result in results)
    assert len(boxes.sleeps) == 1
    assert sorted(row["lastname"] for row in boxes.dataverse.rows("contacts")) == ["L0", "L1", "L2"]


def test_timed_out_read_retried(boxes):
    boxes.dataverse.add_row("contacts", {"lastname": "Lee"})
    boxes.dataverse.inject_delay(r"/contacts$", 0.5)
    result = boxes.connector(timeout_seconds=0.2).read(Kind.CONTACT, None)
    assert [record.values["lastname"] for record in result.records] == ["Lee"]
    assert len(boxes.sleeps) == 1

