"""Contract tests: the Dynamics connector with msal and requests against the sandboxes."""

from __future__ import annotations

import uuid

import pytest

from sync.connectors.base import WriteOp, WriteRequest
from sync.errors import ConfigError, RecordError, TransientError
from sync.model import Kind
from tests.connectors.dynamics.sandboxes import SECRET, TENANT, running_sandboxes


@pytest.fixture
def boxes(tmp_path):
    with running_sandboxes(tmp_path) as sandboxes:
        yield sandboxes


def _seed_contacts(boxes, count):
    return [boxes.dataverse.add_row("contacts", {"firstname": f"P{i}", "lastname": "Lee",
                                                 "emailaddress1": f"p{i}@example.com"}) for i in range(count)]


def test_token_fetched_once(boxes):
    connector = boxes.connector()
    _seed_contacts(boxes, 2)
    connector.read(Kind.CONTACT, None)
    connector.read(Kind.CONTACT, None)
    assert boxes.token.router.counts["token.issue"] == 1


def test_wrong_secret_config_error(boxes):
    connector = boxes.connector(secret="wrong-secret-value")
    with pytest.raises(ConfigError) as caught:
        connector.read(Kind.CONTACT, None)
    assert "AADSTS7000215" in str(caught.value)
    assert "wrong-secret-value" not in str(caught.value)


def test_expired_secret_config_error(boxes):
    boxes.token.expire_secret("crmsync-test-client")
    with pytest.raises(ConfigError) as caught:
        boxes.connector().read(Kind.CONTACT, None)
    assert "AADSTS7000222" in str(caught.value)


def test_unknown_client_names_client_id(boxes):
    with pytest.raises(ConfigError) as caught:
        boxes.connector(client_id="unknown-client").read(Kind.CONTACT, None)
    problem = caught.value.problems[0]
    assert "AADSTS700016" in problem.message
    assert problem.field == "dynamics.client_id"


def test_full_read_pages(boxes):
    ids = _seed_contacts(boxes, 7)
    result = boxes.connector(page_size=3).read(Kind.CONTACT, None)
    assert sorted(record.id for record in result.records) == sorted(ids)
    assert boxes.dataverse.router.counts["dataverse.query"] == 3


def test_untracked_cursor_is_latest(boxes):
    boxes.dataverse.set_change_tracking("contacts", False)
    _seed_contacts(boxes, 1)
    boxes.clock.advance(60)
    _seed_contacts(boxes, 1)
    result = boxes.connector().read(Kind.CONTACT, None)
    assert result.cursor == "2024-05-01T12:01:00Z"


def test_incremental_read_modifiedon(boxes):
    boxes.dataverse.set_change_tracking("contacts", False)
    old = _seed_contacts(boxes, 1)[0]
    boxes.clock.advance(3600)
    new = _seed_contacts(boxes, 1)[0]
    result = boxes.connector(modified_overlap_seconds=60).read(Kind.CONTACT, "2024-05-01T12:30:00Z")
    ids = [record.id for record in result.records]
    assert ids == [new]
    assert old not in ids


def test_record_refs_and_etag(boxes):
    account = boxes.dataverse.add_row("accounts", {"name": "Litware"})
    contact = boxes.dataverse.add_row("contacts", {"lastname": "Lee",
                                                   "parentcustomerid_account@odata.bind": f"/accounts({account})"})
    record = boxes.connector().read_ids(Kind.CONTACT, [contact])[0]
    assert record.refs == {Kind.COMPANY: [account]}
    assert record.etag.startswith('W/"')
    assert record.values["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    assert not any(name.endswith("FormattedValue") for name in record.values)


def test_deal_refs_customer_contact(boxes):
    contact = boxes.dataverse.add_row("contacts", {"lastname": "Lee"})
    deal = boxes.dataverse.add_row("opportunities", {"name": "Big",
                                                     "customerid_contact@odata.bind": f"/contacts({contact})"})
    record = boxes.connector().read_ids(Kind.DEAL, [deal])[0]
    assert record.refs == {Kind.CONTACT: [contact]}


def test_create_retry_no_second_row(boxes):
    connector = boxes.connector()
    request = WriteRequest(WriteOp.CREATE, {"lastname": "Lee"}, record_id=str(uuid.uuid4()))
    first = connector.write(Kind.CONTACT, [request])[0]
    second = connector.write(Kind.CONTACT, [request])[0]
    assert first.ok and second.ok
    assert len(boxes.dataverse.rows("contacts")) == 1


def test_create_returns_etag(boxes):
    request = WriteRequest(WriteOp.CREATE, {"lastname": "Lee"}, record_id=str(uuid.uuid4()))
    result = boxes.connector().write(Kind.CONTACT, [request])[0]
    assert result.etag == boxes.dataverse.rows("contacts")[0]["@odata.etag"]


def test_update_stale_etag(boxes):
    contact = _seed_contacts(boxes, 1)[0]
    stale = boxes.dataverse.rows("contacts")[0]["@odata.etag"]
    boxes.dataverse.update_row("contacts", contact, {"firstname": "Changed"})
    request = WriteRequest(WriteOp.UPDATE, {"lastname": "New"}, record_id=contact, etag=stale)
    result = boxes.connector().write(Kind.CONTACT, [request])[0]
    assert not result.ok
    assert isinstance(result.error, RecordError)
    assert result.error.category == "etag_mismatch"


def test_update_current_etag(boxes):
    contact = _seed_contacts(boxes, 1)[0]
    etag = boxes.dataverse.rows("contacts")[0]["@odata.etag"]
    request = WriteRequest(WriteOp.UPDATE, {"lastname": "New"}, record_id=contact, etag=etag)
    result = boxes.connector().write(Kind.CONTACT, [request])[0]
    assert result.ok
    assert boxes.dataverse.rows("contacts")[0]["lastname"] == "New"


def test_batch_bad_row_spares_others(boxes):
    good = WriteRequest(WriteOp.CREATE, {"lastname": "Good"}, record_id=str(uuid.uuid4()))
    bad = WriteRequest(WriteOp.CREATE, {"nosuchcolumn": "x"}, record_id=str(uuid.uuid4()))
    results = boxes.connector().write(Kind.CONTACT, [good, bad, good])
    assert [result.ok for result in results] == [True, False, True]
    assert "nosuchcolumn" in str(results[1].error)
    assert [row["lastname"] for row in boxes.dataverse.rows("contacts")] == ["Good"]


def test_write_binds_company(boxes):
    account = boxes.dataverse.add_row("accounts", {"name": "Litware"})
    request = WriteRequest(WriteOp.CREATE, {"name": "Deal"}, record_id=str(uuid.uuid4()),
                           refs={Kind.COMPANY: [account]})
    assert boxes.connector().write(Kind.DEAL, [request])[0].ok
    assert boxes.dataverse.rows("opportunities")[0]["_customerid_value"] == account


def test_write_deal_contact_without_company(boxes):
    contact = boxes.dataverse.add_row("contacts", {"lastname": "Lee"})
    request = WriteRequest(WriteOp.CREATE, {"name": "Deal"}, record_id=str(uuid.uuid4()),
                           refs={Kind.CONTACT: [contact]})
    assert boxes.connector().write(Kind.DEAL, [request])[0].ok
    row = boxes.dataverse.rows("opportunities")[0]
    assert row["_customerid_value"] == contact
    assert row["_parentcontactid_value"] is None


def test_401_once_renews_token(boxes):
    connector = boxes.connector()
    _seed_contacts(boxes, 1)
    connector.read(Kind.CONTACT, None)
    boxes.token.revoke_all()
    queries = boxes.dataverse.router.counts["dataverse.query"]
    assert len(connector.read(Kind.CONTACT, None).records) == 1
    assert boxes.token.router.counts["token.issue"] == 2
    # The rejected query and its one retry.
    assert boxes.dataverse.router.counts["dataverse.query"] == queries + 2


def test_401_twice_config_error(boxes):
    connector = boxes.connector()
    boxes.dataverse.token_check = lambda token: False
    with pytest.raises(ConfigError) as caught:
        connector.read(Kind.CONTACT, None)
    assert "crmsync-test-client" in str(caught.value)
    assert TENANT in str(caught.value)
    assert SECRET not in str(caught.value)
    assert boxes.token.router.counts["token.issue"] == 2
    assert boxes.dataverse.router.counts["dataverse.entity_definition"] == 2


def test_429_waits_retry_after(boxes):
    _seed_contacts(boxes, 1)
    boxes.dataverse.inject(r"/contacts$", 429, times=2, retry_after=7)
    connector = boxes.connector()
    assert len(connector.read(Kind.CONTACT, None).records) == 1
    assert boxes.sleeps == [7.0, 7.0]


def test_dropped_connection_retried(boxes):
    _seed_contacts(boxes, 1)
    boxes.dataverse.inject(r"/contacts$", -1, times=1)
    assert len(boxes.connector().read(Kind.CONTACT, None).records) == 1
    assert len(boxes.sleeps) == 1


def test_5xx_gives_up_transient(boxes):
    boxes.dataverse.inject(r"/contacts$", 503, times=10)
    with pytest.raises(TransientError) as caught:
        boxes.connector().read(Kind.CONTACT, None)
    assert caught.value.status == 503
    assert len(boxes.sleeps) == 4


def test_owners(boxes):
    boxes.dataverse.add_row("systemusers", {"fullname": "Ann Ops", "internalemailaddress": "ann@example.com",
                                            "isdisabled": True})
    owner = boxes.connector().owners()[0]
    assert owner.email == "ann@example.com"
    assert owner.active is False


def test_field_names(boxes):
    names = boxes.connector().field_names(Kind.CONTACT)
    assert {"emailaddress1", "parentcustomerid", "_parentcustomerid_value"} <= names
    assert "nosuchcolumn" not in names
