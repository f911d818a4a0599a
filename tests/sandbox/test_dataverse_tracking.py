"""Change tracking in the Dataverse sandbox: deltaLinks, delta responses and their errors."""

from datetime import UTC, datetime, timedelta

import pytest
import requests

from sync.sandbox.dataverse import DataverseSandbox
from sync.sandbox.http import SandboxServer

HEADERS = {"Authorization": "Bearer good", "Accept": "application/json"}
TRACK = "odata.track-changes"


class Clock:
    def __init__(self):
        self.now = datetime(2024, 5, 1, tzinfo=UTC)

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def box(clock):
    sandbox = DataverseSandbox(lambda token: token == "good", clock=clock)
    server = SandboxServer(sandbox.router).start()
    sandbox.url = server.url + "/api/data/v9.2"
    yield sandbox
    server.stop()


def _get(box, url, prefer=TRACK):
    target = url if url.startswith("http") else f"{box.url}/{url}"
    return requests.get(target, headers={**HEADERS, "Prefer": prefer}, timeout=5)


def _full(box, url="accounts?$select=name", prefer=TRACK):
    """Read every page of a tracked query; return the rows and the last page's body."""
    body = _get(box, url, prefer).json()
    rows = list(body["value"])
    while "@odata.nextLink" in body:
        assert "@odata.deltaLink" not in body
        body = _get(box, body["@odata.nextLink"], prefer).json()
        rows += body["value"]
    return rows, body


def test_first_read_delta_link(box):
    box.add_row("accounts", {"name": "A"})
    response = _get(box, "accounts?$select=name")
    assert "$deltatoken=" in response.json()["@odata.deltaLink"]
    assert response.headers["Preference-Applied"] == TRACK


def test_delta_link_last_page_only(box):
    for number in range(5):
        box.add_row("accounts", {"name": f"A{number}"})
    rows, last = _full(box, prefer=f"{TRACK},odata.maxpagesize=2")
    assert len(rows) == 5
    assert "@odata.deltaLink" in last


def test_untracked_query_no_delta_link(box):
    box.add_row("accounts", {"name": "A"})
    assert "@odata.deltaLink" not in _get(box, "accounts", prefer="").json()


def test_delta_new_updated_deleted(box):
    kept = box.add_row("accounts", {"name": "Kept"})
    changed = box.add_row("accounts", {"name": "Old"})
    gone = box.add_row("accounts", {"name": "Gone"})
    _, body = _full(box)
    box.update_row("accounts", changed, {"name": "New"})
    added = box.add_row("accounts", {"name": "Added"})
    box.delete_row("accounts", gone)
    delta = _get(box, body["@odata.deltaLink"]).json()
    rows = [item for item in delta["value"] if "reason" not in item]
    deleted = [item for item in delta["value"] if "reason" in item]
    assert [row["accountid"] for row in rows] == [changed, added]
    assert kept not in {row["accountid"] for row in rows}
    assert deleted == [{"@odata.context": f"{box.url}/$metadata#accounts/$deletedEntity", "id": gone,
                        "reason": "deleted"}]
    assert delta["@odata.context"].endswith("/$delta")


def test_created_then_deleted_reported(box):
    _, body = _full(box)
    short_lived = box.add_row("accounts", {"name": "Brief"})
    box.delete_row("accounts", short_lived)
    delta = _get(box, body["@odata.deltaLink"]).json()
    assert [item["id"] for item in delta["value"]] == [short_lived]


def test_empty_delta_fresh_link(box):
    box.add_row("accounts", {"name": "A"})
    _, body = _full(box)
    delta = _get(box, body["@odata.deltaLink"]).json()
    assert delta["value"] == []
    assert "$deltatoken=" in delta["@odata.deltaLink"]


def test_change_during_paging_redelivered(box):
    first = box.add_row("accounts", {"name": "A"})
    box.add_row("accounts", {"name": "B"})
    body = _get(box, "accounts?$select=name", prefer=f"{TRACK},odata.maxpagesize=1").json()
    box.update_row("accounts", first, {"name": "A2"})
    last = _get(box, body["@odata.nextLink"], prefer=f"{TRACK},odata.maxpagesize=1").json()
    delta = _get(box, last["@odata.deltaLink"]).json()
    assert [row["name"] for row in delta["value"]] == ["A2"]


@pytest.mark.parametrize("option", ["$filter=name eq 'A'", "$orderby=name", "$top=1", "$expand=primarycontactid"])
def test_option_rejected_with_tracking(box, option):
    response = _get(box, f"accounts?$select=name&{option}")
    assert response.status_code == 400
    assert "isn't supported when Change Tracking is enabled" in response.json()["error"]["message"]


def test_expired_token_rejected(box, clock):
    _, body = _full(box)
    clock.now += timedelta(days=7, seconds=1)
    response = _get(box, body["@odata.deltaLink"])
    assert response.status_code == 400
    assert "expired" in response.json()["error"]["message"]


def test_invalid_token_rejected(box):
    response = _get(box, "accounts?$select=name&$deltatoken=not-a-token")
    assert response.status_code == 400
    assert "invalid" in response.json()["error"]["message"]


def test_future_version_rejected(box):
    response = _get(box, "accounts?$select=name&$deltatoken=99999999!05/01/2024 00:00:00")
    assert response.status_code == 400


def test_disabled_table_no_delta_link(box):
    box.set_change_tracking("accounts", False)
    box.add_row("accounts", {"name": "A"})
    response = _get(box, "accounts?$select=name")
    assert "@odata.deltaLink" not in response.json()
    assert "Preference-Applied" not in response.headers


def test_disabled_table_rejects_token(box):
    _, body = _full(box)
    box.set_change_tracking("accounts", False)
    assert _get(box, body["@odata.deltaLink"]).status_code == 400


def test_metadata_tracking_flag(box):
    box.set_change_tracking("contacts", False)
    contact = _get(box, "EntityDefinitions(LogicalName='contact')", prefer="").json()
    account = _get(box, "EntityDefinitions(LogicalName='account')", prefer="").json()
    assert contact["ChangeTrackingEnabled"] is False
    assert account["ChangeTrackingEnabled"] is True


def test_rolled_back_change_not_in_delta(box):
    _, body = _full(box)
    batch = ("--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n"
             "--c\r\nContent-Type: application/http\r\nContent-ID: 1\r\n\r\nPOST accounts HTTP/1.1\r\n"
             'Content-Type: application/json\r\n\r\n{"name": "Lost"}\r\n'
             "--c\r\nContent-Type: application/http\r\nContent-ID: 2\r\n\r\nPOST accounts HTTP/1.1\r\n"
             'Content-Type: application/json\r\n\r\n{"nosuch": 1}\r\n--c--\r\n--b--\r\n')
    requests.post(f"{box.url}/$batch", data=batch, timeout=5,
                  headers={**HEADERS, "Content-Type": "multipart/mixed; boundary=b"})
    assert _get(box, body["@odata.deltaLink"]).json()["value"] == []


def _pages(box, url, prefer):
    """Read every page of a delta; return the bodies of all pages."""
    bodies = [_get(box, url, prefer).json()]
    while "@odata.nextLink" in bodies[-1]:
        bodies.append(_get(box, bodies[-1]["@odata.nextLink"], prefer).json())
    return bodies


def _twelve_changes(box):
    """Make 12 changes after a full read: 6 updates, then a deletion, then 5 creates. Return the deltaLink and ids."""
    ids = [box.add_row("accounts", {"name": f"A{number}"}) for number in range(8)]
    _, body = _full(box)
    for row_id in ids[:6]:
        box.update_row("accounts", row_id, {"name": "Changed"})
    box.delete_row("accounts", ids[7])
    added = [box.add_row("accounts", {"name": f"N{number}"}) for number in range(5)]
    return body["@odata.deltaLink"], ids[:6], ids[7], added


def test_delta_paged_delta_link_last(box):
    link, updated, deleted, added = _twelve_changes(box)
    bodies = _pages(box, link, f"{TRACK},odata.maxpagesize=5")

    assert [len(body["value"]) for body in bodies] == [5, 5, 2]
    assert ["@odata.deltaLink" in body for body in bodies] == [False, False, True]
    assert ["@odata.nextLink" in body for body in bodies] == [True, True, False]
    ids = [item.get("accountid") or item.get("id") for body in bodies for item in body["value"]]
    assert ids == [*updated, deleted, *added]
    assert bodies[1]["value"][1] == {"@odata.context": f"{box.url}/$metadata#accounts/$deletedEntity",
                                     "id": deleted, "reason": "deleted"}


def test_delta_unpaged_without_page_size(box):
    link, *_ = _twelve_changes(box)
    body = _get(box, link).json()
    assert len(body["value"]) == 12
    assert "@odata.deltaLink" in body


def test_delta_change_while_paging(box):
    link, updated, _, _ = _twelve_changes(box)
    prefer = f"{TRACK},odata.maxpagesize=5"
    first = _get(box, link, prefer).json()
    # Updated again after page 1 was read: the row moves out of this delta into the next one.
    box.update_row("accounts", updated[5], {"name": "Again"})
    rest = _pages(box, first["@odata.nextLink"], prefer)
    ids = [item.get("accountid") or item.get("id") for body in [first, *rest] for item in body["value"]]
    assert len(ids) == 11
    assert updated[5] not in ids
    following = _get(box, rest[-1]["@odata.deltaLink"], prefer).json()
    assert [row["name"] for row in following["value"]] == ["Again"]


def test_delta_invalid_skiptoken(box):
    _, body = _full(box)
    response = _get(box, body["@odata.deltaLink"] + "&$skiptoken=garbage")
    assert response.status_code == 400
    assert "Invalid $skiptoken" in response.json()["error"]["message"]
