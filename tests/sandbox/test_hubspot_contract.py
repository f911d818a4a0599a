"""The official hubspot-api-client against the HubSpot sandbox, endpoint by endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from urllib3 import Retry
from hubspot import HubSpot
from hubspot.crm.companies.exceptions import ApiException as CompanyApiException
from hubspot.crm.contacts.exceptions import ApiException as ContactApiException
from hubspot.crm.deals.exceptions import ApiException as DealApiException

from sync.sandbox.hubspot import HubSpotSandbox
from tests.connectors.hubspot.fakes import FakeClock, start_server

TOKEN = "pat-sandbox-token"
# Each hubspot.crm package raises its own ApiException class.
ApiException = (CompanyApiException, ContactApiException, DealApiException)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> HubSpotSandbox:
    return HubSpotSandbox(TOKEN, clock=clock.now, monotonic=clock.monotonic)


@pytest.fixture
def client(sandbox: HubSpotSandbox) -> Iterator[HubSpot]:
    server = start_server(sandbox.router)
    yield HubSpot(access_token=TOKEN, host=server.url)
    server.stop()


def search_body(**extra: object) -> dict[str, object]:
    return {"filterGroups": [], "sorts": [], "limit": 200, **extra}


def test_create_returns_object(client):
    """Create returns 201, so the client returns the object with string properties."""
    created = client.crm.companies.basic_api.create({"properties": {"name": "Acme", "annualrevenue": 1000}})

    assert created.properties["annualrevenue"] == "1000"
    assert created.properties["hs_object_id"] == created.id


def test_create_duplicate_email(client, sandbox):
    """A second contact with the same email (any case) is a 409 CONFLICT naming the first."""
    first = sandbox.add_record("contacts", {"email": "pat@example.com"})

    with pytest.raises(ApiException) as caught:
        client.crm.contacts.basic_api.create({"properties": {"email": "PAT@example.com"}})

    assert caught.value.status == 409
    assert f"Existing ID: {first}" in caught.value.body


def test_batch_create_duplicate_whole(client, sandbox):
    """Batch create with one duplicate email fails whole: nothing is created."""
    sandbox.add_record("contacts", {"email": "pat@example.com"})
    inputs = [{"properties": {"email": "new@example.com"}}, {"properties": {"email": "pat@example.com"}}]

    with pytest.raises(ApiException):
        client.crm.contacts.batch_api.create({"inputs": inputs})

    assert len(sandbox.records("contacts")) == 1


def test_batch_read_partial(client, sandbox):
    """Batch read with a missing id returns 207 with an OBJECT_NOT_FOUND error."""
    kept = sandbox.add_record("deals", {"dealname": "A"})

    page = client.crm.deals.batch_api.read({"inputs": [{"id": kept}, {"id": "424242"}], "properties": ["dealname"]})

    assert [item.id for item in page.results] == [kept]
    assert page.errors[0].category == "OBJECT_NOT_FOUND"
    assert page.errors[0].context["ids"] == ["424242"]


def test_batch_cap(client):
    """More than 100 inputs is a 400."""
    with pytest.raises(ApiException) as caught:
        client.crm.deals.batch_api.read({"inputs": [{"id": str(n)} for n in range(101)]})

    assert caught.value.status == 400


def test_upsert_new_flag(client, sandbox):
    """Upsert by crmsync_id updates the existing company and creates the other."""
    sandbox.add_record("companies", {"name": "Old", "crmsync_id": "k1"})
    inputs = [{"idProperty": "crmsync_id", "id": "k1", "properties": {"name": "Renamed"}},
              {"idProperty": "crmsync_id", "id": "k2", "properties": {"name": "Fresh"}}]

    page = client.crm.companies.batch_api.upsert({"inputs": inputs})

    assert sorted((item.properties["crmsync_id"], item.new) for item in page.results) == [("k1", False), ("k2", True)]


def test_upsert_non_unique(client):
    """Upsert by a property that is not unique is a 400."""
    inputs = [{"idProperty": "name", "id": "x", "properties": {}}]

    with pytest.raises(ApiException) as caught:
        client.crm.companies.batch_api.upsert({"inputs": inputs})

    assert caught.value.status == 400


def test_list_paging(client, sandbox):
    """List pages by `after` until the last page, which has no paging."""
    for number in range(15):
        sandbox.add_record("companies", {"name": f"c{number}"})

    first = client.crm.companies.basic_api.get_page(limit=10)
    second = client.crm.companies.basic_api.get_page(limit=10, after=first.paging.next.after)

    assert len(first.results) == 10
    assert len(second.results) == 5
    assert second.paging is None


@pytest.mark.parametrize(("operator", "extra", "expected"), [
    ("EQ", {"value": "100"}, ["b"]),
    ("NEQ", {"value": "100"}, ["a", "c", "d"]),
    ("LT", {"value": "100"}, ["a"]),
    ("LTE", {"value": "100"}, ["a", "b"]),
    ("GT", {"value": "100"}, ["c"]),
    ("GTE", {"value": "100"}, ["b", "c"]),
    ("BETWEEN", {"value": "50", "highValue": "150"}, ["b"]),
    ("IN", {"values": ["20", "300"]}, ["a", "c"]),
    ("NOT_IN", {"values": ["20", "300"]}, ["b", "d"]),
    ("HAS_PROPERTY", {}, ["a", "b", "c"]),
    ("NOT_HAS_PROPERTY", {}, ["d"]),
])
def test_search_operator(client, sandbox, operator, extra, expected):
    """Each operator filters numbers numerically."""
    for name, amount in (("a", "20"), ("b", "100"), ("c", "300"), ("d", None)):
        sandbox.add_record("deals", {"dealname": name, "amount": amount})
    filters = [{"propertyName": "amount", "operator": operator, **extra}]

    page = client.crm.deals.search_api.do_search(search_body(filterGroups=[{"filters": filters}]))

    assert sorted(item.properties["dealname"] for item in page.results) == expected


def test_search_date_filter(client, sandbox, clock):
    """Date filters take epoch milliseconds or ISO-8601, and sort ascending by time."""
    sandbox.add_record("contacts", {"email": "late@x.com"}, modified_at=clock.now() + timedelta(hours=1))
    sandbox.add_record("contacts", {"email": "early@x.com"}, modified_at=clock.now())
    sandbox.add_record("contacts", {"email": "old@x.com"}, modified_at=clock.now() - timedelta(days=1))
    sorts = [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]

    for value in (str(int(clock.now().timestamp() * 1000)), "2024-03-01T12:00:00Z"):
        filters = [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": value}]
        page = client.crm.contacts.search_api.do_search(search_body(filterGroups=[{"filters": filters}], sorts=sorts))
        assert [item.properties["email"] for item in page.results] == ["early@x.com", "late@x.com"]


def test_search_or_groups(client, sandbox):
    """Filter groups are OR'ed."""
    for name in ("a", "b", "c"):
        sandbox.add_record("companies", {"name": name})
    groups = [{"filters": [{"propertyName": "name", "operator": "EQ", "value": name}]} for name in ("a", "c")]

    page = client.crm.companies.search_api.do_search(search_body(filterGroups=groups))

    assert page.total == 2


def test_search_cap(client, sandbox):
    """A page at offset 10,000 is a 400 VALIDATION_ERROR."""
    with pytest.raises(ApiException) as caught:
        client.crm.companies.search_api.do_search(search_body(after="10000"))

    assert caught.value.status == 400
    assert "VALIDATION_ERROR" in caught.value.body


def test_search_hides_archived(client, sandbox):
    """Archived records never appear in search."""
    gone = sandbox.add_record("companies", {"name": "gone"})
    sandbox.add_record("companies", {"name": "kept"})
    sandbox.archive_record("companies", gone)

    page = client.crm.companies.search_api.do_search(search_body())

    assert [item.properties["name"] for item in page.results] == ["kept"]


def test_deal_closed_won(client, sandbox):
    """A deal in closedwon reads hs_is_closed_won true."""
    deal = sandbox.add_record("deals", {"dealname": "W", "pipeline": "default", "dealstage": "closedwon"})

    read = client.crm.deals.basic_api.get_by_id(deal, properties=["hs_is_closed_won", "hs_is_closed"])

    assert read.properties["hs_is_closed_won"] == "true"
    assert read.properties["hs_is_closed"] == "true"


def test_read_only_rejected(client, sandbox):
    """Writing a read-only property is a 400."""
    deal = sandbox.add_record("deals", {"dealname": "W"})

    with pytest.raises(ApiException) as caught:
        client.crm.deals.basic_api.update(deal, {"properties": {"hs_is_closed_won": "true"}})

    assert caught.value.status == 400


def test_v3_associations(client, sandbox):
    """associations= groups associated ids by plural type name."""
    company = sandbox.add_record("companies", {"name": "Acme"})
    contact = sandbox.add_record("contacts", {"email": "a@x.com"})
    sandbox.associate("contacts", contact, "companies", company, 279)

    read = client.crm.contacts.basic_api.get_by_id(contact, associations=["companies"])

    assert [row.id for row in read.associations["companies"].results] == [company]


def test_v4_batch_create_read(client, sandbox):
    """v4 batch create returns 201 and batch read returns the pair with its type id."""
    deal = sandbox.add_record("deals", {"dealname": "D"})
    company = sandbox.add_record("companies", {"name": "C"})
    v4 = client.crm.associations.v4.batch_api
    body = {"inputs": [{"from": {"id": deal}, "to": {"id": company},
                        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 341}]}]}

    created = v4.create("deals", "companies", body)
    read = v4.get_page("companies", "deals", {"inputs": [{"id": company}]})

    assert created.results[0].to_object_id == company
    assert read.results[0].to[0].to_object_id == deal
    assert read.results[0].to[0].association_types[0].type_id == 342


def test_v4_single_put_and_list(client, sandbox):
    """PUT associates one pair and GET lists it with the primary and unlabeled types."""
    contact = sandbox.add_record("contacts", {"email": "a@x.com"})
    company = sandbox.add_record("companies", {"name": "C"})
    v4 = client.crm.associations.v4.basic_api

    v4.create("contacts", contact, "companies", company,
              [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}])
    page = v4.get_page("contacts", contact, "companies")

    assert sorted(item.type_id for item in page.results[0].association_types) == [1, 279]


def test_owners_filter(client, sandbox):
    """Owners list by email, and archived owners only with archived=true."""
    sandbox.add_owner("pat@example.com", "Pat", "Lee")
    gone = sandbox.add_owner("gone@example.com", "Gone", "Away", active=False)

    by_email = client.crm.owners.owners_api.get_page(email="pat@example.com")
    archived = client.crm.owners.owners_api.get_page(archived=True)

    assert [owner.first_name for owner in by_email.results] == ["Pat"]
    assert [owner.id for owner in archived.results] == [gone]


def test_pipeline_stages(client):
    """The default pipeline has the seven standard stages."""
    stages = client.crm.pipelines.pipeline_stages_api.get_all("deals", "default").results

    assert [stage.id for stage in stages][-2:] == ["closedwon", "closedlost"]
    assert len(stages) == 7


def test_properties_metadata(client):
    """Properties list types and read-only flags."""
    props = {item.name: item for item in client.crm.properties.core_api.get_all("contacts").results}

    assert props["email"].has_unique_value is True
    assert props["lastmodifieddate"].modification_metadata.read_only_value is True
    assert props["lastmodifieddate"].type == "datetime"


def test_wrong_token(sandbox, client):
    """A wrong bearer token is a 401 INVALID_AUTHENTICATION."""
    other = HubSpot(access_token="nope", host=client.config["host"])

    with pytest.raises(ApiException) as caught:
        other.crm.contacts.basic_api.get_page()

    assert caught.value.status == 401
    assert "INVALID_AUTHENTICATION" in caught.value.body


def test_rate_limit_429(clock):
    """The 101st request within ten seconds on starter is a 429 with Retry-After."""
    sandbox = HubSpotSandbox(TOKEN, clock=clock.now, tier="starter", monotonic=clock.monotonic)
    server = start_server(sandbox.router)
    no_retry = Retry(total=0, respect_retry_after_header=False, raise_on_status=False)
    api = HubSpot(access_token=TOKEN, host=server.url, retry=no_retry).crm.companies.basic_api
    try:
        for _ in range(100):
            api.get_page()
        with pytest.raises(ApiException) as caught:
            api.get_page()
        clock.advance(10)
        api.get_page()
    finally:
        server.stop()

    assert caught.value.status == 429
    assert "TEN_SECONDLY_ROLLING" in caught.value.body
    assert caught.value.headers["Retry-After"] == "10"
    assert caught.value.headers["X-HubSpot-RateLimit-Remaining"] == "0"


def test_rate_headers(client):
    """Responses carry the tier's limits."""
    response = client.crm.companies.basic_api.get_page_with_http_info()

    assert response[2]["X-HubSpot-RateLimit-Max"] == "190"
    assert response[2]["X-HubSpot-RateLimit-Daily"] == "650000"


def test_inject_fault(client, sandbox):
    """An injected status answers the next matching request only."""
    sandbox.inject("/crm/v3/objects/companies$", 502)

    with pytest.raises(ApiException) as caught:
        client.crm.companies.basic_api.get_page()
    client.crm.companies.basic_api.get_page()

    assert caught.value.status == 502


def test_dump_load_round_trip(sandbox, clock):
    """load(dump()) restores records, associations and owners."""
    company = sandbox.add_record("companies", {"name": "Acme", "crmsync_id": "k1"})
    contact = sandbox.add_record("contacts", {"email": "a@x.com"})
    sandbox.associate("contacts", contact, "companies", company, 279)
    sandbox.add_owner("pat@example.com", "Pat", "Lee")

    copy = HubSpotSandbox(TOKEN, clock=clock.now)
    copy.load(sandbox.dump())

    assert copy.records("companies") == sandbox.records("companies")
    assert copy.associations("contacts", contact, "companies") == [company]
    assert copy.dump() == sandbox.dump()


def test_deal_stage_entry_times_are_stamped():
    from datetime import UTC, datetime, timedelta

    from sync.sandbox.hubspot import HubSpotSandbox

    moments = iter([datetime(2026, 1, 5, 9, tzinfo=UTC) + timedelta(days=n) for n in range(10)])
    sandbox = HubSpotSandbox("pat-test", clock=lambda: next(moments), rate_limits=False)
    deal_id = sandbox.add_record("deals", {"dealname": "Renewal", "dealstage": "qualifiedtobuy", "pipeline": "default"})
    sandbox.update_record("deals", deal_id, {"dealstage": "closedwon"})
    sandbox.update_record("deals", deal_id, {"amount": "10"})

    properties = sandbox.records("deals")[0]["properties"]
    assert properties["hs_date_entered_qualifiedtobuy"].startswith("2026-01-05")
    assert properties["hs_date_entered_closedwon"].startswith("2026-01-06")


RATE_HEADERS = ("X-HubSpot-RateLimit-Max", "X-HubSpot-RateLimit-Remaining",
                "X-HubSpot-RateLimit-Interval-Milliseconds", "X-HubSpot-RateLimit-Daily",
                "X-HubSpot-RateLimit-Daily-Remaining")


def test_rate_headers_on_errors(client, sandbox):
    """Error responses carry the rate-limit headers too: 400, 404, 409 and an injected 503."""
    sandbox.add_record("contacts", {"email": "pat@example.com"})
    sandbox.inject("/crm/v3/objects/deals$", 503)
    calls = [
        lambda: client.crm.companies.basic_api.create({"properties": {"nosuchproperty": "x"}}),
        lambda: client.crm.companies.basic_api.get_by_id("424242"),
        lambda: client.crm.contacts.basic_api.create({"properties": {"email": "pat@example.com"}}),
        lambda: client.crm.deals.basic_api.get_page(),
    ]
    statuses = []
    for call in calls:
        with pytest.raises(ApiException) as caught:
            call()
        statuses.append(caught.value.status)
        assert all(name in caught.value.headers for name in RATE_HEADERS), caught.value.status

    assert statuses == [400, 404, 409, 503]


def test_rate_headers_on_403(clock):
    """A 403 for a missing scope carries the rate-limit headers."""
    sandbox = HubSpotSandbox(TOKEN, clock=clock.now, monotonic=clock.monotonic, scopes={"crm.objects.contacts.read"})
    server = start_server(sandbox.router)
    try:
        with pytest.raises(ApiException) as caught:
            HubSpot(access_token=TOKEN, host=server.url).crm.deals.basic_api.get_page()
    finally:
        server.stop()

    assert caught.value.status == 403
    assert all(name in caught.value.headers for name in RATE_HEADERS)


def test_rate_headers_on_207(client, sandbox):
    """A 207 batch response carries the rate-limit headers."""
    kept = sandbox.add_record("deals", {"dealname": "A"})

    _, status, headers = client.crm.deals.batch_api.read_with_http_info(
        {"inputs": [{"id": kept}, {"id": "424242"}]})

    assert status == 207
    assert all(name in headers for name in RATE_HEADERS)


def test_other_app_burst_counts(clock):
    """Requests of another app on the account count in the ten-second window the headers report."""
    sandbox = HubSpotSandbox(TOKEN, clock=clock.now, tier="starter", monotonic=clock.monotonic)
    server = start_server(sandbox.router)
    api = HubSpot(access_token=TOKEN, host=server.url).crm.companies.basic_api
    try:
        fitted = sandbox.gate.other_app_burst(95)
        _, _, headers = api.get_page_with_http_info()
        clock.advance(10)
        _, _, later = api.get_page_with_http_info()
    finally:
        server.stop()

    assert fitted == 95
    assert headers["X-HubSpot-RateLimit-Remaining"] == "4"
    assert later["X-HubSpot-RateLimit-Remaining"] == "99"
    assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == str(250_000 - 96)


def test_other_app_steady_rate(clock):
    """Another app at 7 requests per second keeps about 70 requests in the window."""
    sandbox = HubSpotSandbox(TOKEN, clock=clock.now, tier="starter", monotonic=clock.monotonic)
    server = start_server(sandbox.router)
    api = HubSpot(access_token=TOKEN, host=server.url).crm.companies.basic_api
    try:
        other = sandbox.gate.other_app(7)
        clock.advance(30)
        _, _, headers = api.get_page_with_http_info()
    finally:
        server.stop()

    assert headers["X-HubSpot-RateLimit-Remaining"] == str(100 - 70 - 1)
    assert other.sent == 210
    assert other.rejected == 0
    assert not sandbox.gate.rejections


def test_daily_limit_resets_at_midnight(clock):
    """The daily count starts again at midnight in the account's time zone, not in UTC."""
    sandbox = HubSpotSandbox(TOKEN, clock=clock.now, monotonic=clock.monotonic, daily_limit=2,
                             timezone="Europe/Paris")
    server = start_server(sandbox.router)
    no_retry = Retry(total=0, respect_retry_after_header=False, raise_on_status=False)
    api = HubSpot(access_token=TOKEN, host=server.url, retry=no_retry).crm.companies.basic_api
    try:
        api.get_page()
        api.get_page()
        with pytest.raises(ApiException) as caught:
            api.get_page()
        clock.advance(11 * 3600)  # 23:00 UTC, midnight in Paris
        _, _, headers = api.get_page_with_http_info()
    finally:
        server.stop()

    assert caught.value.status == 429
    assert '"policyName": "DAILY"' in caught.value.body
    assert caught.value.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == "1"


def test_history_single_read(client, sandbox, clock):
    """GET with propertiesWithHistory returns each value with its time and source, newest first."""
    contact = sandbox.add_record("contacts", {"email": "pat@example.com", "firstname": "Old"})
    clock.advance(60)
    client.crm.contacts.basic_api.update(contact, {"properties": {"firstname": "New"}})

    read = client.crm.contacts.basic_api.get_by_id(contact, properties_with_history=["firstname", "jobtitle"])

    entries = read.properties_with_history["firstname"]
    assert [entry.value for entry in entries] == ["New", "Old"]
    assert [entry.source_type for entry in entries] == ["API", "CRM_UI"]
    assert entries[0].timestamp.isoformat() == "2024-03-01T12:01:00+00:00"
    assert entries[1].timestamp.isoformat() == "2024-03-01T12:00:00+00:00"
    assert "jobtitle" not in read.properties_with_history


def test_history_same_value_no_entry(client, sandbox, clock):
    """Writing a property's current value again adds no history entry; the modified time does change."""
    company = sandbox.add_record("companies", {"name": "Acme"})
    clock.advance(60)
    client.crm.companies.basic_api.update(company, {"properties": {"name": "Acme"}})

    read = client.crm.companies.basic_api.get_by_id(company, properties_with_history=["name", "hs_lastmodifieddate"])

    assert len(read.properties_with_history["name"]) == 1
    assert len(read.properties_with_history["hs_lastmodifieddate"]) == 2
    assert read.properties_with_history["hs_lastmodifieddate"][0].source_type == "CALCULATED"


def test_history_batch_read(client, sandbox, clock):
    """Batch read returns the history of each record."""
    first = sandbox.add_record("deals", {"dealname": "A", "amount": "10"})
    second = sandbox.add_record("deals", {"dealname": "B"})
    clock.advance(5)
    sandbox.update_record("deals", first, {"amount": "20"})

    page = client.crm.deals.batch_api.read({"inputs": [{"id": first}, {"id": second}],
                                            "propertiesWithHistory": ["amount"]})

    by_id = {item.id: item.properties_with_history for item in page.results}
    assert [entry.value for entry in by_id[first]["amount"]] == ["20", "10"]
    assert by_id[second] == {}


def test_history_batch_cap(client, sandbox):
    """Batch read takes at most 50 inputs with propertiesWithHistory, and 100 without."""
    ids = [{"id": sandbox.add_record("companies", {"name": f"c{number}"})} for number in range(51)]

    with pytest.raises(ApiException) as caught:
        client.crm.companies.batch_api.read({"inputs": ids, "propertiesWithHistory": ["name"]})
    plain = client.crm.companies.batch_api.read({"inputs": ids})

    assert caught.value.status == 400
    assert "for property histories is 50" in caught.value.body
    assert len(plain.results) == 51


def test_history_list_page(client, sandbox):
    """A list page with propertiesWithHistory contains at most 50 records and pages on."""
    for number in range(60):
        sandbox.add_record("companies", {"name": f"c{number}"})

    page = client.crm.companies.basic_api.get_page(limit=100, properties_with_history=["name"])

    assert len(page.results) == 50
    assert page.paging.next.after
    assert page.results[0].properties_with_history["name"][0].value == "c0"


def test_history_follows_merge(client, sandbox, clock):
    """A merge survivor keeps the history of each value it kept, primary first."""
    primary = sandbox.add_record("contacts", {"email": "pat@example.com", "firstname": "Pat"})
    clock.advance(10)
    merged = sandbox.add_record("contacts", {"email": "lee@example.com", "firstname": "P.", "jobtitle": "CEO"})
    clock.advance(10)

    survivor = client.crm.contacts.basic_api.merge({"primaryObjectId": primary, "objectIdToMerge": merged})
    read = client.crm.contacts.basic_api.get_by_id(survivor.id,
                                                   properties_with_history=["firstname", "jobtitle", "hs_merged_object_ids"])

    history = read.properties_with_history
    assert [entry.value for entry in history["firstname"]] == ["Pat"]
    assert history["jobtitle"][0].timestamp.isoformat() == "2024-03-01T12:00:10+00:00"
    assert history["hs_merged_object_ids"][0].timestamp.isoformat() == "2024-03-01T12:00:20+00:00"


def test_history_round_trip(sandbox, clock):
    """load(dump()) keeps property history."""
    contact = sandbox.add_record("contacts", {"email": "a@x.com", "firstname": "A"})
    sandbox.update_record("contacts", contact, {"firstname": "B"})

    copy = HubSpotSandbox(TOKEN, clock=clock.now)
    copy.load(sandbox.dump())

    assert copy.objects["contacts"][contact].history == sandbox.objects["contacts"][contact].history
    assert copy.dump() == sandbox.dump()


def test_search_ignores_history(client, sandbox):
    """Search has no propertiesWithHistory: results come back without history."""
    sandbox.add_record("companies", {"name": "Acme"})

    page = client.crm.companies.search_api.do_search(search_body(propertiesWithHistory=["name"]))

    assert page.results[0].properties_with_history is None
