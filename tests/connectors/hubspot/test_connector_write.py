"""HubSpotConnector writes, retries and error mapping against the sandbox."""

from __future__ import annotations


import pytest

from sync.connectors.base import WriteOp, WriteRequest
from sync.connectors.hubspot.client import HubSpotConnector
from sync.errors import ConfigError, TransientError
from sync.model import Kind
from sync.sandbox.http import SandboxServer
from sync.sandbox.hubspot import HubSpotSandbox
from sync.settings import HubSpotSettings
from tests.connectors.hubspot.conftest import TOKEN
from tests.connectors.hubspot.fakes import FakeClock, start_server



def make_connector(server: SandboxServer, clock: FakeClock, token: str = TOKEN) -> HubSpotConnector:
    settings = HubSpotSettings(host=server.url, access_token=token)
    return HubSpotConnector(settings, {}, clock=clock.monotonic, sleep=clock.sleep)


def create(email: str, **values: object) -> WriteRequest:
    return WriteRequest(WriteOp.CREATE, {"email": email, **values}, key=email)


def test_create_upserts_by_email(sandbox, server, clock):
    """A create of an existing email updates that contact instead of making a second one."""
    existing = sandbox.add_record("contacts", {"email": "pat@example.com", "firstname": "Old"})

    results = make_connector(server, clock).write(Kind.CONTACT, [create("Pat@example.com", firstname="New")])

    assert results[0].record_id == existing
    assert len(sandbox.records("contacts")) == 1
    assert sandbox.records("contacts")[0]["properties"]["firstname"] == "New"


def test_create_sets_refs(sandbox, server, clock):
    """A created deal gets its company and contact associations."""
    company = sandbox.add_record("companies", {"name": "Acme"})
    contact = sandbox.add_record("contacts", {"email": "a@example.com"})
    request = WriteRequest(WriteOp.CREATE, {"dealname": "Big", "crmsync_id": "k1"}, key="k1",
                           refs={Kind.COMPANY: [company], Kind.CONTACT: [contact]})

    result = make_connector(server, clock).write(Kind.DEAL, [request])[0]

    assert result.ok
    assert sandbox.associations("deals", result.record_id, "companies") == [company]
    assert sandbox.associations("deals", result.record_id, "contacts") == [contact]


def test_update_partial_failure(sandbox, server, clock):
    """A 207 fails only the input HubSpot rejected; the others succeed, in order."""
    first = sandbox.add_record("companies", {"name": "A"})
    second = sandbox.add_record("companies", {"name": "B"})
    requests = [
        WriteRequest(WriteOp.UPDATE, {"name": "A2"}, record_id=first),
        WriteRequest(WriteOp.UPDATE, {"name": "X"}, record_id="999999"),
        WriteRequest(WriteOp.UPDATE, {"name": "B2"}, record_id=second),
    ]

    results = make_connector(server, clock).write(Kind.COMPANY, requests)

    assert [result.ok for result in results] == [True, False, True]
    assert results[1].error.category == "OBJECT_NOT_FOUND"
    assert results[1].error.record_id == "999999"


def test_invalid_value_fails_one(sandbox, server, clock):
    """A batch HubSpot rejects whole is retried per input, so only the bad record fails."""
    requests = [create("a@example.com"), create("b@example.com", nosuchproperty="x"), create("c@example.com")]

    results = make_connector(server, clock).write(Kind.CONTACT, requests)

    assert [result.ok for result in results] == [True, False, True]
    assert "nosuchproperty" in str(results[1].error)


def test_duplicate_email_update_conflict(sandbox, server, clock):
    """Changing a contact's email to one that exists fails that record with CONFLICT."""
    sandbox.add_record("contacts", {"email": "taken@example.com"})
    other = sandbox.add_record("contacts", {"email": "other@example.com"})
    request = WriteRequest(WriteOp.UPDATE, {"email": "taken@example.com"}, record_id=other)

    result = make_connector(server, clock).write(Kind.CONTACT, [request])[0]

    assert not result.ok
    assert result.error.category == "CONFLICT"


def test_wrong_token_config_error(sandbox, server, clock):
    """A 401 raises ConfigError naming the setting, without the token."""
    wrong = "pat-na1-wrong-secret-999"

    with pytest.raises(ConfigError) as caught:
        make_connector(server, clock, token=wrong).read(Kind.CONTACT, None)

    assert "hubspot.access_token" in str(caught.value)
    assert wrong not in str(caught.value)


def test_retry_on_503(sandbox, server, clock):
    """An injected 503 is retried and the read succeeds."""
    sandbox.add_record("contacts", {"email": "a@example.com"})
    sandbox.inject("/crm/v3/objects/contacts$", 503, times=2)

    result = make_connector(server, clock).read(Kind.CONTACT, None)

    assert len(result.records) == 1
    assert clock.sleeps == [1.0, 2.0]


def test_retry_after_on_429(sandbox, server, clock):
    """A 429 waits for the Retry-After time before retrying."""
    sandbox.inject("/search$", 429, retry_after=7)

    make_connector(server, clock).read(Kind.CONTACT, "2024-03-01T00:00:00Z")

    assert 7.0 in clock.sleeps


def test_retry_after_on_get(sandbox, server, clock):
    """A 429 on a GET is retried by the connector, not by urllib3."""
    sandbox.inject("/crm/v3/objects/contacts$", 429, retry_after=4)

    make_connector(server, clock).read(Kind.CONTACT, None)

    assert clock.sleeps == [4.0]


def test_retry_dropped_connection(sandbox, server, clock):
    """A dropped connection is retried like a 5xx."""
    sandbox.inject("/batch/upsert$", -1)

    results = make_connector(server, clock).write(Kind.CONTACT, [create("a@example.com")])

    assert results[0].ok


def test_gives_up_transient(sandbox, server, clock):
    """After the capped attempts a persistent 503 raises TransientError."""
    sandbox.inject("/crm/v3/objects/contacts$", 503, times=10)

    with pytest.raises(TransientError):
        make_connector(server, clock).read(Kind.CONTACT, None)


def test_pacing_avoids_429(clock):
    """With the sandbox's rate limit on and a shared clock, a burst of 150 reads never sees a 429."""
    sandbox = HubSpotSandbox(TOKEN, clock=clock.now, tier="starter", monotonic=clock.monotonic)
    server = start_server(sandbox.router)
    try:
        settings = HubSpotSettings(host=server.url, access_token=TOKEN, tier="starter")
        connector = HubSpotConnector(settings, {}, clock=clock.monotonic, sleep=clock.sleep)
        for number in range(150):
            sandbox.add_record("companies", {"name": f"c{number}"})
        for _ in range(150):
            connector.read_ids(Kind.COMPANY, [str(1002 + number) for number in range(100)])
    finally:
        server.stop()

    assert sandbox.router.counts["hubspot.batch_read"] == 150
    assert sum(clock.sleeps) > 0
    assert not sandbox.gate.rejections
