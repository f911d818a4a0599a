"""The connector under Dataverse service protection limits: a 429 storm, waits and outcomes."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from sync.connectors.base import WriteOp, WriteRequest
from sync.model import Kind
from sync.sandbox.dataverse_limits import ServiceLimits
from tests.connectors.dynamics.sandboxes import running_sandboxes


@pytest.fixture
def boxes(tmp_path):
    # Five requests a user per 300 s, so that a run of a few dozen requests meets many 429s.
    with running_sandboxes(tmp_path, ServiceLimits(requests=5)) as sandboxes:
        yield sandboxes


def _creates(count):
    return [WriteRequest(WriteOp.CREATE, {"lastname": f"L{number}"}, record_id=str(uuid.uuid4()))
            for number in range(count)]


def test_storm_waits_retry_after(boxes):
    results = boxes.connector(batch_size=10).write(Kind.CONTACT, _creates(200))
    given = [rejection.retry_after for rejection in boxes.dataverse.protection.rejections]
    assert len(given) >= 3
    assert boxes.sleeps == given
    assert all(result.ok for result in results)


def test_storm_nothing_lost_or_duplicated(boxes):
    boxes.connector(batch_size=10).write(Kind.CONTACT, _creates(200))
    names = Counter(row["lastname"] for row in boxes.dataverse.rows("contacts"))
    assert len(names) == 200
    assert set(names.values()) == {1}


def test_storm_read_complete(boxes):
    for number in range(30):
        boxes.dataverse.add_row("contacts", {"lastname": f"L{number}"})
    connector = boxes.connector(page_size=2)
    result = connector.read(Kind.CONTACT, None)
    ids = [record.id for record in result.records]
    assert len(ids) == 30
    assert len(set(ids)) == 30
    assert boxes.sleeps == [rejection.retry_after for rejection in boxes.dataverse.protection.rejections]
