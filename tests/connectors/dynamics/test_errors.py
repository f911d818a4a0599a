"""The status table of the Dynamics connector, row by row."""

import pytest

from sync.connectors.dynamics.errors import Action, action_for, error_message


@pytest.mark.parametrize(("status", "action"), [
    (200, Action.OK), (201, Action.OK), (204, Action.OK), (304, Action.OK),
    (400, Action.REJECT_RECORD), (401, Action.RENEW_TOKEN), (403, Action.CONFIG), (404, Action.NOT_FOUND),
    (405, Action.CONFIG), (408, Action.RETRY), (412, Action.ETAG_MISMATCH), (413, Action.REJECT_RECORD),
    (429, Action.RETRY), (500, Action.RETRY), (501, Action.CONFIG), (502, Action.RETRY), (503, Action.RETRY),
    (504, Action.RETRY), (507, Action.RETRY), (422, Action.REJECT_RECORD), (206, Action.OK),
], ids=str)
def test_status_action(status, action):
    assert action_for(status) is action


def test_error_message_with_code():
    assert error_message({"error": {"code": "0x80040217", "message": "missing"}}) == "missing (0x80040217)"
