"""Archive in Dataverse: deactivate contacts and accounts, close opportunities as canceled.

Dataverse has no archive. The nearest reversible step is the row's state: contacts and
accounts become Inactive (statecode 1, statuscode 2), and an open opportunity is closed
as Lost with status Canceled (statecode 2, statuscode 4) through LoseOpportunity, the
only way to close one. The opportunity values are Dataverse's documented option sets.
"""

from __future__ import annotations

from sync.connectors.base import WriteOp, WriteRequest
from sync.model import Kind

# NOTE: the contact and account values (1 Inactive, 2 Inactive) are the usual defaults of
# those tables and are not checked against Microsoft's reference here.
DEACTIVATED_STATE: dict[Kind, dict[str, int]] = {
    Kind.CONTACT: {"statecode": 1, "statuscode": 2},
    Kind.COMPANY: {"statecode": 1, "statuscode": 2},
    Kind.DEAL: {"statecode": 2, "statuscode": 4},
}


def as_state_update(kind: Kind, request: WriteRequest) -> WriteRequest:
    """Return an archive request as the update that deactivates the row; others as they are."""
    if request.op is not WriteOp.ARCHIVE:
        return request
    return WriteRequest(WriteOp.UPDATE, dict(DEACTIVATED_STATE[kind]), record_id=request.record_id)
