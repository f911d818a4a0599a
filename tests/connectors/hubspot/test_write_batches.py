"""HubSpot batch writes at their limits: partial failures, duplicates and associations."""

from __future__ import annotations



from sync.connectors.base import WriteOp, WriteRequest
from sync.model import Kind
from tests.connectors.hubspot.conftest import TOKEN
from tests.connectors.hubspot.fakes import make_connector



def create(email: str, **values: object) -> WriteRequest:
    return WriteRequest(WriteOp.CREATE, {"email": email, **values}, key=email)


def test_one_bad_create_of_100(sandbox, server, clock):
    """One invalid input among 100 creates fails alone; the other 99 are written once each."""
    requests = [create(f"p{number}@example.com") for number in range(100)]
    requests[37] = create("p37@example.com", lifecyclestage="not-a-stage")

    results = make_connector(server.url, clock, TOKEN).write(Kind.CONTACT, requests)

    assert [index for index, result in enumerate(results) if not result.ok] == [37]
    assert results[37].error.category == "VALIDATION_ERROR"
    assert results[37].error.field == "lifecyclestage"
    assert "not-a-stage" in results[37].error.reason
    assert len(sandbox.records("contacts")) == 99
    assert sandbox.router.counts["hubspot.batch_upsert"] <= 15


def test_one_missing_update_of_100(sandbox, server, clock):
    """A 207 commits 99 updates in one call and fails the missing id with OBJECT_NOT_FOUND."""
    ids = [sandbox.add_record("companies", {"name": f"c{number}"}) for number in range(99)]
    requests = [WriteRequest(WriteOp.UPDATE, {"name": f"renamed {record_id}"}, record_id=record_id)
                for record_id in ids]
    requests.insert(50, WriteRequest(WriteOp.UPDATE, {"name": "ghost"}, record_id="999999"))

    results = make_connector(server.url, clock, TOKEN).write(Kind.COMPANY, requests)

    assert [index for index, result in enumerate(results) if not result.ok] == [50]
    assert results[50].error.category == "OBJECT_NOT_FOUND"
    assert "they may be deleted or not exist" in results[50].error.reason
    assert sandbox.router.counts["hubspot.batch_update"] == 1
    assert all(record["properties"]["name"].startswith("renamed") for record in sandbox.records("companies"))


def test_duplicate_email_links_existing(sandbox, server, clock):
    """A create that HubSpot answers with 409 returns the existing contact instead of failing."""
    primary = sandbox.add_record("contacts", {"email": "pat@example.com"})
    absorbed = sandbox.add_record("contacts", {"email": "p.lee@example.com"})
    survivor = sandbox.merge("contacts", primary, absorbed)

    results = make_connector(server.url, clock, TOKEN).write(
        Kind.CONTACT, [create("new@example.com"), create("p.lee@example.com")])

    assert [result.ok for result in results] == [True, True]
    assert results[1].record_id == survivor.id
    assert len(sandbox.records("contacts")) == 2


def test_create_refs_type_ids(sandbox, server, clock):
    """A created contact is associated to its company with the unlabeled type 279."""
    company = sandbox.add_record("companies", {"name": "Acme"})
    request = WriteRequest(WriteOp.CREATE, {"email": "a@example.com"}, key="a@example.com",
                           refs={Kind.COMPANY: [company]})

    result = make_connector(server.url, clock, TOKEN).write(Kind.CONTACT, [request])[0]

    assert sandbox.association_types("contacts", result.record_id, "companies", company) == {279}


def test_changed_ref_replaces_old(sandbox, server, clock):
    """An update that moves a deal to another company removes the old association."""
    old = sandbox.add_record("companies", {"name": "Old"})
    new = sandbox.add_record("companies", {"name": "New"})
    contact = sandbox.add_record("contacts", {"email": "a@example.com"})
    deal = sandbox.add_record("deals", {"dealname": "Big"})
    sandbox.associate("deals", deal, "companies", old, 341)
    sandbox.associate("deals", deal, "contacts", contact, 3)
    request = WriteRequest(WriteOp.UPDATE, {"dealname": "Big"}, record_id=deal, refs={Kind.COMPANY: [new]})

    result = make_connector(server.url, clock, TOKEN).write(Kind.DEAL, [request])[0]

    assert result.ok
    assert sandbox.associations("deals", deal, "companies") == [new]
    assert sandbox.associations("companies", old, "deals") == []
    assert sandbox.associations("deals", deal, "contacts") == [contact]


def test_unchanged_ref_no_calls(sandbox, server, clock):
    """An update whose reference is already in place creates and removes nothing."""
    company = sandbox.add_record("companies", {"name": "Acme"})
    deal = sandbox.add_record("deals", {"dealname": "Big"})
    sandbox.associate("deals", deal, "companies", company, 341)
    request = WriteRequest(WriteOp.UPDATE, {"dealname": "Bigger"}, record_id=deal, refs={Kind.COMPANY: [company]})

    make_connector(server.url, clock, TOKEN).write(Kind.DEAL, [request])

    assert sandbox.router.counts["hubspot.associations_create"] == 0
    assert sandbox.router.counts["hubspot.associations_archive"] == 0
