"""Change tracking through the connector: deltaLink cursors, deleted rows and fallbacks."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from sync.connectors.dynamics.changes import CursorForm, cursor_form, deleted_record, parse_delta_link
from sync.errors import TransientError
from sync.model import Kind
from tests.connectors.dynamics.sandboxes import running_sandboxes


@pytest.fixture
def boxes(tmp_path):
    with running_sandboxes(tmp_path) as sandboxes:
        yield sandboxes


def _seed(boxes, count, prefix="P"):
    return [boxes.dataverse.add_row("contacts", {"lastname": f"{prefix}{i}", "emailaddress1": f"{prefix}{i}@example.com"})
            for i in range(count)]


def _ids(result):
    return sorted(record.id for record in result.records if not record.deleted)


def _deleted(result):
    return sorted(record.id for record in result.records if record.deleted)


def test_full_read_delta_cursor(boxes):
    ids = _seed(boxes, 3)
    result = boxes.connector().read(Kind.CONTACT, None)
    assert _ids(result) == sorted(ids)
    assert cursor_form(result.cursor) is CursorForm.DELTA_LINK
    assert result.full


def test_delta_nothing_lost_or_repeated(boxes):
    kept, changed, gone = _seed(boxes, 3)
    connector = boxes.connector()
    first = connector.read(Kind.CONTACT, None)
    boxes.clock.advance(60)
    boxes.dataverse.update_row("contacts", changed, {"lastname": "Changed"})
    added = _seed(boxes, 1, prefix="N")[0]
    boxes.dataverse.delete_row("contacts", gone)

    delta = connector.read(Kind.CONTACT, first.cursor)
    assert _ids(delta) == sorted([changed, added])
    assert kept not in _ids(delta)
    assert _deleted(delta) == [gone]
    assert not delta.full
    assert connector.read(Kind.CONTACT, delta.cursor).records == []


def test_deleted_record_shape(boxes):
    gone = _seed(boxes, 1)[0]
    connector = boxes.connector()
    cursor = connector.read(Kind.CONTACT, None).cursor
    boxes.dataverse.delete_row("contacts", gone)
    record = connector.read(Kind.CONTACT, cursor).records[0]
    assert record.deleted
    assert record.values == {}
    assert record.id == gone


def test_delta_updated_values(boxes):
    contact = _seed(boxes, 1)[0]
    connector = boxes.connector()
    cursor = connector.read(Kind.CONTACT, None).cursor
    boxes.dataverse.update_row("contacts", contact, {"lastname": "Moved"})
    record = connector.read(Kind.CONTACT, cursor).records[0]
    assert record.values["lastname"] == "Moved"
    assert record.etag == boxes.dataverse.rows("contacts")[0]["@odata.etag"]


def test_change_while_paging_next_delta(boxes):
    first, _ = _seed(boxes, 2)
    connector = boxes.connector(page_size=1)
    original = connector.client.send

    def send_and_edit(method, path, **kwargs):
        if "$skiptoken" in path:
            boxes.dataverse.update_row("contacts", first, {"lastname": "Edited"})
        return original(method, path, **kwargs)

    connector.client.send = send_and_edit
    cursor = connector.read(Kind.CONTACT, None).cursor
    connector.client.send = original
    assert _ids(connector.read(Kind.CONTACT, cursor)) == [first]


def test_expired_token_full_read(boxes):
    ids = _seed(boxes, 2)
    connector = boxes.connector()
    cursor = connector.read(Kind.CONTACT, None).cursor
    boxes.clock.advance(8 * 24 * 3600)
    with capture_logs() as logs:
        result = connector.read(Kind.CONTACT, cursor)
    warnings = [entry for entry in logs if entry["event"] == "dynamics.delta_token_rejected"]
    assert _ids(result) == sorted(ids)
    assert result.full
    assert warnings[0]["log_level"] == "warning"
    assert "expired" in warnings[0]["error"]
    assert result.cursor != cursor


def test_invalid_token_full_read(boxes):
    ids = _seed(boxes, 2)
    connector = boxes.connector()
    cursor = connector.read(Kind.CONTACT, None).cursor
    broken = cursor.split("$deltatoken=")[0] + "$deltatoken=garbage"
    result = connector.read(Kind.CONTACT, broken)
    assert _ids(result) == sorted(ids)
    assert cursor_form(result.cursor) is CursorForm.DELTA_LINK


def test_untracked_table_modifiedon_overlap(boxes):
    boxes.dataverse.set_change_tracking("contacts", False)
    early = _seed(boxes, 1, prefix="E")[0]
    boxes.clock.advance(30)
    late = _seed(boxes, 1, prefix="L")[0]
    connector = boxes.connector(modified_overlap_seconds=60)
    first = connector.read(Kind.CONTACT, None)
    assert first.cursor == "2024-05-01T12:00:30Z"
    # The overlap re-reads both rows, so a row committed late with an older time is not lost.
    assert _ids(connector.read(Kind.CONTACT, first.cursor)) == sorted([early, late])


def test_time_cursor_upgraded(boxes):
    ids = _seed(boxes, 2)
    result = boxes.connector().read(Kind.CONTACT, "2030-01-01T00:00:00Z")
    assert _ids(result) == sorted(ids)
    assert cursor_form(result.cursor) is CursorForm.DELTA_LINK


def test_columns_changed_full_read(boxes):
    ids = _seed(boxes, 2)
    cursor = boxes.connector().read(Kind.CONTACT, None).cursor
    wider = boxes.connector(columns={Kind.CONTACT: ["lastname", "jobtitle"]})
    with capture_logs() as logs:
        result = wider.read(Kind.CONTACT, cursor)
    assert _ids(result) == sorted(ids)
    assert "dynamics.delta_columns_changed" in [entry["event"] for entry in logs]


def test_tracking_turned_off_falls_back(boxes):
    ids = _seed(boxes, 2)
    cursor = boxes.connector().read(Kind.CONTACT, None).cursor
    boxes.dataverse.set_change_tracking("contacts", False)
    result = boxes.connector().read(Kind.CONTACT, cursor)
    assert _ids(result) == sorted(ids)
    assert cursor_form(result.cursor) is CursorForm.MODIFIED_TIME


def test_metadata_asked_once(boxes):
    connector = boxes.connector()
    cursor = connector.read(Kind.CONTACT, None).cursor
    connector.read(Kind.CONTACT, cursor)
    connector.read(Kind.CONTACT, None)
    assert boxes.dataverse.router.counts["dataverse.entity_definition"] == 1


def test_cursor_form_rejects_garbage():
    with pytest.raises(ValueError):
        cursor_form("not a cursor")


def test_parse_delta_link_keeps_token():
    link = "https://org.example/api/data/v9.2/contacts?$select=contactid,lastname&$deltatoken=919042%2108%2F22%2F2017"
    cursor = parse_delta_link(link)
    assert cursor.select == ["contactid", "lastname"]
    assert cursor.token_parameter == "$deltatoken=919042%2108%2F22%2F2017"


def test_deleted_record_ignores_rows():
    row = {"@odata.etag": 'W/"1"', "id": "x", "reason": "a column named reason"}
    assert deleted_record(Kind.CONTACT, row) is None


def _twelve_changes(boxes, connector):
    """Read in full, then make 12 changes: 6 updates, a deletion (7th, so on page 2 of 5), 5 creates."""
    ids = _seed(boxes, 8)
    cursor = connector.read(Kind.CONTACT, None).cursor
    boxes.clock.advance(60)
    for contact in ids[:6]:
        boxes.dataverse.update_row("contacts", contact, {"lastname": "Changed"})
    boxes.dataverse.delete_row("contacts", ids[7])
    added = _seed(boxes, 5, prefix="N")
    return cursor, ids[:6], ids[7], added


def test_delta_pages_followed(boxes):
    connector = boxes.connector(page_size=5)
    cursor, updated, deleted, added = _twelve_changes(boxes, connector)
    queries = boxes.dataverse.router.counts["dataverse.query"]
    bodies = []
    original = connector.client.send

    def send_and_keep(method, path, **kwargs):
        response = original(method, path, **kwargs)
        bodies.append(response.json())
        return response

    connector.client.send = send_and_keep
    delta = connector.read(Kind.CONTACT, cursor)

    assert boxes.dataverse.router.counts["dataverse.query"] == queries + 3
    assert [record.id for record in delta.records] == [*updated, deleted, *added]
    assert [record.id for record in delta.records if record.deleted] == [deleted]
    assert [record.values.get("lastname") for record in delta.records[:6]] == ["Changed"] * 6
    assert ["@odata.deltaLink" in body for body in bodies] == [False, False, True]
    assert delta.cursor == bodies[-1]["@odata.deltaLink"]
    assert connector.read(Kind.CONTACT, delta.cursor).records == []


def test_delta_page_failure_keeps_cursor(boxes):
    connector = boxes.connector(page_size=5)
    cursor, *_ = _twelve_changes(boxes, connector)
    original = connector.client.send
    pages = []

    def fail_third_page(method, path, **kwargs):
        if "$skiptoken" in path:
            pages.append(path)
            if len(pages) == 2:
                boxes.dataverse.inject(r"/contacts$", 503, times=10)
        return original(method, path, **kwargs)

    connector.client.send = fail_third_page
    with pytest.raises(TransientError):
        connector.read(Kind.CONTACT, cursor)

    # No cursor came back, so the stored one stays and the next read gets all 12 changes again.
    connector.client.send = original
    boxes.dataverse.faults.clear()
    assert len(connector.read(Kind.CONTACT, cursor).records) == 12
