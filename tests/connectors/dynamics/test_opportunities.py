"""Contract tests: opportunity writes that open, close and reopen rows in the Dataverse sandbox."""

from __future__ import annotations

import uuid

import pytest

from sync.connectors.base import WriteOp, WriteRequest
from sync.model import Kind
from tests.connectors.dynamics.sandboxes import running_sandboxes


@pytest.fixture
def boxes(tmp_path):
    with running_sandboxes(tmp_path) as sandboxes:
        yield sandboxes


def _row(boxes, row_id):
    return next(row for row in boxes.dataverse.rows("opportunities") if row["opportunityid"] == row_id)


def _seed(boxes, **values):
    return boxes.dataverse.add_row("opportunities", {"name": "Deal", "estimatedvalue": 1000,
                                                     "estimatedclosedate": "2024-06-30", **values})


def _etag(boxes, row_id):
    return _row(boxes, row_id)["@odata.etag"]


def _update(boxes, row_id, **values):
    request = WriteRequest(WriteOp.UPDATE, values, record_id=row_id, etag=_etag(boxes, row_id))
    return boxes.connector().write(Kind.DEAL, [request])[0]


def _create(boxes, **values):
    request = WriteRequest(WriteOp.CREATE, {"name": "Deal", **values}, record_id=str(uuid.uuid4()))
    return boxes.connector().write(Kind.DEAL, [request])[0]


def _closes(boxes):
    return boxes.dataverse.rows("opportunitycloses")


def test_create_won(boxes):
    result = _create(boxes, estimatedvalue=500, estimatedclosedate="2024-07-01", statecode=1, statuscode=3,
                     salesstage=3)
    row = _row(boxes, result.record_id)
    assert result.ok
    assert (row["statecode"], row["statuscode"], row["salesstage"]) == (1, 3, 3)
    assert (row["actualvalue"], row["actualclosedate"]) == (500.0, "2024-07-01")


def test_create_won_etag_current(boxes):
    result = _create(boxes, estimatedvalue=500, statecode=1)
    assert result.etag == _etag(boxes, result.record_id)
    assert result.record.values["statecode"] == 1


def test_create_won_close_activity(boxes):
    result = _create(boxes, estimatedvalue=500, statecode=1)
    closes = _closes(boxes)
    assert len(closes) == 1
    assert closes[0]["_opportunityid_value"] == result.record_id
    assert closes[0]["actualrevenue"] == 500.0


def test_create_lost_default_status(boxes):
    result = _create(boxes, statecode=2)
    row = _row(boxes, result.record_id)
    assert result.ok
    assert (row["statecode"], row["statuscode"]) == (2, 4)
    assert row["actualclosedate"] == "2024-05-01"


def test_create_lost_out_sold(boxes):
    result = _create(boxes, statecode=2, statuscode=5)
    assert _row(boxes, result.record_id)["statuscode"] == 5


def test_create_open_drops_statecode(boxes):
    result = _create(boxes, statecode=0, statuscode=2, salesstage=1)
    row = _row(boxes, result.record_id)
    assert result.ok
    assert (row["statecode"], row["statuscode"], row["salesstage"]) == (0, 2, 1)


def test_create_won_retry_closes_once(boxes):
    request = WriteRequest(WriteOp.CREATE, {"name": "Deal", "statecode": 1}, record_id=str(uuid.uuid4()))
    boxes.dataverse.inject(r"/WinOpportunity$", 400)
    first = boxes.connector().write(Kind.DEAL, [request])[0]
    second = boxes.connector().write(Kind.DEAL, [request])[0]
    assert not first.ok
    assert second.ok
    assert len(boxes.dataverse.rows("opportunities")) == 1
    assert _row(boxes, request.record_id)["statecode"] == 1


def test_create_close_failure_reported(boxes):
    boxes.dataverse.inject(r"/WinOpportunity$", 400)
    result = _create(boxes, statecode=1)
    assert not result.ok
    assert "WinOpportunity" in str(result.error)
    assert result.record_id in str(result.error)
    assert "is open" in str(result.error)


def test_open_to_won(boxes):
    row_id = _seed(boxes)
    result = _update(boxes, row_id, statecode=1, statuscode=3, name="Deal won")
    row = _row(boxes, row_id)
    assert result.ok
    assert (row["statecode"], row["name"], row["actualvalue"]) == (1, "Deal won", 1000.0)
    assert result.etag == row["@odata.etag"]


def test_open_to_won_stale_etag(boxes):
    row_id = _seed(boxes)
    stale = _etag(boxes, row_id)
    boxes.dataverse.update_row("opportunities", row_id, {"name": "Edited in Dynamics"})
    request = WriteRequest(WriteOp.UPDATE, {"statecode": 1, "name": "X"}, record_id=row_id, etag=stale)
    result = boxes.connector().write(Kind.DEAL, [request])[0]
    assert result.error.category == "etag_mismatch"
    assert _row(boxes, row_id)["statecode"] == 0


def test_won_to_open(boxes):
    row_id = _seed(boxes, statecode=1, statuscode=3)
    result = _update(boxes, row_id, statecode=0, salesstage=2)
    row = _row(boxes, row_id)
    assert result.ok
    assert (row["statecode"], row["statuscode"], row["salesstage"]) == (0, 1, 2)
    assert result.etag == row["@odata.etag"]


def test_won_to_on_hold(boxes):
    row_id = _seed(boxes, statecode=1, statuscode=3)
    _update(boxes, row_id, statecode=0, statuscode=2)
    assert _row(boxes, row_id)["statuscode"] == 2


def test_won_to_lost(boxes):
    row_id = _seed(boxes, statecode=1, statuscode=3, actualvalue=1000, actualclosedate="2024-06-01")
    result = _update(boxes, row_id, statecode=2, statuscode=5)
    row = _row(boxes, row_id)
    assert result.ok
    assert (row["statecode"], row["statuscode"]) == (2, 5)
    assert row["actualclosedate"] == "2024-06-30"


def test_lost_to_won(boxes):
    row_id = _seed(boxes, statecode=2, statuscode=4)
    result = _update(boxes, row_id, statecode=1)
    row = _row(boxes, row_id)
    assert result.ok
    assert (row["statecode"], row["statuscode"], row["actualvalue"]) == (1, 3, 1000.0)


def test_won_amount_edit_recloses(boxes):
    row_id = _seed(boxes, statecode=1, statuscode=3, actualvalue=1000, actualclosedate="2024-06-01")
    result = _update(boxes, row_id, estimatedvalue=1500)
    row = _row(boxes, row_id)
    assert result.ok
    assert (row["statecode"], row["statuscode"]) == (1, 3)
    assert (row["estimatedvalue"], row["actualvalue"]) == (1500.0, 1500.0)
    assert row["actualclosedate"] == "2024-06-01"


def test_won_amount_edit_etag(boxes):
    row_id = _seed(boxes, statecode=1, statuscode=3)
    result = _update(boxes, row_id, estimatedvalue=1500)
    assert result.etag == _etag(boxes, row_id)


def test_lost_status_change_only(boxes):
    row_id = _seed(boxes, statecode=2, statuscode=4)
    result = _update(boxes, row_id, statuscode=5)
    assert result.ok
    assert _row(boxes, row_id)["statuscode"] == 5


def test_closed_unchanged_sends_nothing(boxes):
    row_id = _seed(boxes, statecode=1, statuscode=3)
    connector = boxes.connector()
    request = WriteRequest(WriteOp.UPDATE, {"statecode": 1, "estimatedvalue": 1000}, record_id=row_id,
                           etag=_etag(boxes, row_id))
    result = connector.write(Kind.DEAL, [request])[0]
    assert result.ok
    assert result.etag == _etag(boxes, row_id)
    assert boxes.dataverse.router.counts["dataverse.batch"] == 0


def test_open_edit_is_one_batch(boxes):
    row_id = _seed(boxes)
    _update(boxes, row_id, name="Renamed", statecode=0)
    assert _row(boxes, row_id)["name"] == "Renamed"
    assert boxes.dataverse.router.counts["dataverse.batch"] == 1
    assert boxes.dataverse.router.counts["dataverse.query"] == 1


def test_failed_close_restores_state(boxes):
    row_id = _seed(boxes, statecode=1, statuscode=3, actualvalue=1000, actualclosedate="2024-06-01")
    boxes.dataverse.inject(r"/LoseOpportunity$", 400)
    result = _update(boxes, row_id, statecode=2)
    row = _row(boxes, row_id)
    assert not result.ok
    assert "LoseOpportunity" in str(result.error)
    assert "closed again as it was" in str(result.error)
    assert (row["statecode"], row["statuscode"], row["actualvalue"]) == (1, 3, 1000.0)


def test_failed_patch_restores_state(boxes):
    row_id = _seed(boxes, statecode=1, statuscode=3)
    result = _update(boxes, row_id, estimatedvalue=1500, nosuchcolumn="x")
    assert not result.ok
    assert "nosuchcolumn" in str(result.error)
    assert _row(boxes, row_id)["statecode"] == 1


def test_failed_restore_reports_open(boxes):
    row_id = _seed(boxes, statecode=1, statuscode=3)
    boxes.dataverse.inject(r"/WinOpportunity$", 400, times=2)
    result = _update(boxes, row_id, estimatedvalue=1500)
    assert not result.ok
    assert "left open" in str(result.error)
    assert _row(boxes, row_id)["statecode"] == 0


def test_invalid_status_sends_nothing(boxes):
    row_id = _seed(boxes)
    result = _update(boxes, row_id, statecode=1, statuscode=4)
    assert result.error.category == "invalid_state"
    assert "statuscode 4" in str(result.error)
    assert boxes.dataverse.router.counts["dataverse.batch"] == 0


def test_mixed_batch_keeps_order(boxes):
    open_id, won_id = _seed(boxes), _seed(boxes, statecode=1, statuscode=3)
    requests = [
        WriteRequest(WriteOp.UPDATE, {"statecode": 2}, record_id=open_id, etag=_etag(boxes, open_id)),
        WriteRequest(WriteOp.UPDATE, {"name": "Still won"}, record_id=won_id, etag=_etag(boxes, won_id)),
        WriteRequest(WriteOp.CREATE, {"name": "New"}, record_id=str(uuid.uuid4())),
    ]
    results = boxes.connector().write(Kind.DEAL, requests)
    assert [result.record_id for result in results] == [request.record_id for request in requests]
    assert all(result.ok for result in results)
    assert _row(boxes, won_id)["name"] == "Still won"
