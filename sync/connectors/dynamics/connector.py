"""The Dynamics 365 connector: reads and writes Dataverse rows as `Record`s.

Reads page with `Prefer: odata.maxpagesize` and follow `@odata.nextLink` unchanged.
Incremental reads filter on `modifiedon`, starting `modified_overlap_seconds` before the
cursor. Writes go through `$batch`, one change set per request, with
`Prefer: odata.continue-on-error`, so one rejected row never sinks the others. Creates
are PATCH upserts of a client-generated id with `If-None-Match: *`, so a retried create
cannot make a second row. Opportunities go through `OpportunityWriter`, because Dataverse
closes them only with the WinOpportunity and LoseOpportunity actions.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from sync.connectors.base import ReadResult, WriteOp, WriteRequest, WriteResult
from sync.connectors.dynamics.client import API_PATH, WebApiClient
from sync.connectors.dynamics.errors import Action, action_for, error_message
from sync.connectors.dynamics.odata import BatchOperation, BatchReply, build_batch, parse_batch_response
from sync.connectors.dynamics.opportunities import OpportunityWriter
from sync.connectors.dynamics.records import LOOKUP_COLUMNS, parse_time, record_from_row
from sync.errors import RecordError
from sync.model import DATAVERSE_ENTITY_SETS, DATAVERSE_PRIMARY_KEYS, DATAVERSE_TABLES, Kind, Owner, Record, System
from sync.settings import DynamicsSettings

log = structlog.get_logger(__name__)

ANNOTATIONS = 'odata.include-annotations="*"'
IDS_PER_QUERY = 50
SYSTEM_COLUMNS = ["modifiedon", "createdon", "statecode", "statuscode"]
# Navigation property that binds each reference, by (record kind, referenced kind).
NAVIGATIONS: dict[tuple[Kind, Kind], tuple[str, str]] = {
    (Kind.CONTACT, Kind.COMPANY): ("parentcustomerid_account", "accounts"),
    (Kind.DEAL, Kind.COMPANY): ("customerid_account", "accounts"),
    (Kind.DEAL, Kind.CONTACT): ("parentcontactid", "contacts"),
}


def _utcnow() -> datetime:
    return datetime.now(UTC)


class DynamicsConnector:
    """A `Connector` for the Dataverse Web API v9.2.

    `columns` lists, per kind, the columns the mapping reads; the key, system columns
    and lookups are added. `clock` returns an aware UTC datetime.
    """

    system = System.DYNAMICS

    def __init__(
        self,
        settings: DynamicsSettings,
        columns: dict[Kind, list[str]],
        *,
        clock: Callable[[], datetime] | None = None,
        client: WebApiClient | None = None,
    ) -> None:
        self.settings = settings
        self.columns = columns
        self.clock = clock or _utcnow
        self.client = client or WebApiClient(settings)

    def read(self, kind: Kind, cursor: str | None) -> ReadResult:
        """Read every row when `cursor` is None, else the rows modified since it (with overlap)."""
        query = {"$select": ",".join(self._select(kind))}
        if cursor is not None:
            since = parse_time(cursor) - timedelta(seconds=self.settings.modified_overlap_seconds)
            query["$filter"] = f"modifiedon ge {since.strftime('%Y-%m-%dT%H:%M:%SZ')}"
            query["$orderby"] = "modifiedon asc"
        records = [record_from_row(kind, row) for row in self._query(DATAVERSE_ENTITY_SETS[kind], query)]

        latest = max((r.modified_at for r in records if r.modified_at), default=None)
        next_cursor = latest.strftime("%Y-%m-%dT%H:%M:%SZ") if latest else cursor
        log.info("dynamics.read", kind=str(kind), records=len(records), full=cursor is None)
        return ReadResult(records=records, cursor=next_cursor, full=cursor is None)

    def read_ids(self, kind: Kind, ids: Sequence[str]) -> list[Record]:
        """Read the given rows; ids that do not exist are left out."""
        key = DATAVERSE_PRIMARY_KEYS[kind]
        records: list[Record] = []
        for start in range(0, len(ids), IDS_PER_QUERY):
            chunk = [str(uuid.UUID(value)) for value in ids[start:start + IDS_PER_QUERY]]
            query = {"$select": ",".join(self._select(kind)), "$filter": " or ".join(f"{key} eq {i}" for i in chunk)}
            records += [record_from_row(kind, row) for row in self._query(DATAVERSE_ENTITY_SETS[kind], query)]
        return records

    def owners(self) -> list[Owner]:
        query = {"$select": "fullname,internalemailaddress,isdisabled"}
        return [
            Owner(System.DYNAMICS, row["systemuserid"], row.get("internalemailaddress"), row.get("fullname"),
                  active=not row.get("isdisabled"))
            for row in self._query("systemusers", query)
        ]

    def field_metadata(self, kind: Kind) -> list[dict[str, Any]]:
        """Return the table's attribute definitions, as the Web API's JSON shape."""
        response = self.client.send("GET", f"EntityDefinitions(LogicalName='{DATAVERSE_TABLES[kind]}')/Attributes")
        return list(response.json()["value"])

    def field_names(self, kind: Kind) -> set[str]:
        """Return the column logical names the table has, plus `_x_value` names of lookups."""
        names: set[str] = set()
        for attribute in self.field_metadata(kind):
            names.add(attribute["LogicalName"])
            if attribute.get("AttributeType") in ("Lookup", "Customer", "Owner"):
                names.add(f"_{attribute['LogicalName']}_value")
        return names

    def write(self, kind: Kind, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        """Write the requests through `$batch`; one result per request, in order."""
        if kind is Kind.DEAL:
            return self._write_opportunities(requests)

        results: list[WriteResult] = []
        size = self.settings.batch_size
        for start in range(0, len(requests), size):
            results += self._write_batch(kind, list(requests[start:start + size]))
        return results

    def _write_opportunities(self, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        """Write opportunities, reopening and closing them through the actions where needed."""
        writer = OpportunityWriter(
            send=lambda operations: self._send_batches(Kind.DEAL, operations),
            query=self._query,
            select=self._select(Kind.DEAL),
            today=lambda: self.clock().date(),
        )
        return writer.write(requests, [self._binds(Kind.DEAL, request.refs) for request in requests])

    def _select(self, kind: Kind) -> list[str]:
        names = [DATAVERSE_PRIMARY_KEYS[kind], *self.columns.get(kind, []), *SYSTEM_COLUMNS, *LOOKUP_COLUMNS[kind]]
        return list(dict.fromkeys(names))

    def _query(self, entity_set: str, query: dict[str, str]) -> list[dict[str, Any]]:
        headers = {"Prefer": f"odata.maxpagesize={self.settings.page_size},{ANNOTATIONS}"}
        response = self.client.send("GET", entity_set, params=query, headers=headers)
        rows: list[dict[str, Any]] = []
        while True:
            body = self._checked_json(response, entity_set)
            rows += body.get("value", [])
            next_link = body.get("@odata.nextLink")
            if not next_link:
                return rows
            response = self.client.send("GET", next_link, headers=headers)

    def _checked_json(self, response: Any, entity_set: str) -> dict[str, Any]:
        if action_for(response.status_code) is not Action.OK:
            raise RecordError(f"the query failed with {response.status_code}: {error_message(response.json())}",
                              system="dynamics", kind=entity_set, category="query")
        return response.json()

    def _write_batch(self, kind: Kind, requests: list[WriteRequest]) -> list[WriteResult]:
        operations = [self._operation(kind, request) for request in requests]
        replies = self._send_batch(kind, operations)
        return [self._result(kind, request, operation, reply)
                for request, operation, reply in zip(requests, operations, replies, strict=True)]

    def _send_batches(self, kind: Kind, operations: list[BatchOperation]) -> list[BatchReply]:
        """Send the operations in `$batch` requests of at most `batch_size`; replies in order."""
        replies: list[BatchReply] = []
        size = self.settings.batch_size
        for start in range(0, len(operations), size):
            replies += self._send_batch(kind, operations[start:start + size])
        return replies

    def _send_batch(self, kind: Kind, operations: list[BatchOperation]) -> list[BatchReply]:
        """Send one `$batch`, each operation in its own change set. Raises `TransientError` after retries."""
        content_type, body = build_batch(operations, API_PATH)
        response = self.client.send(
            "POST", "$batch", data=body,
            headers={"Content-Type": content_type, "Prefer": "odata.continue-on-error"},
        )
        replies = parse_batch_response(response.headers.get("Content-Type", ""), response.content)
        if len(replies) != len(operations):
            raise RecordError(f"the $batch response holds {len(replies)} replies for {len(operations)} requests",
                              system="dynamics", kind=str(kind), category="batch")
        return replies

    def _operation(self, kind: Kind, request: WriteRequest) -> BatchOperation:
        record_id = request.record_id or str(uuid.uuid4())
        headers = {"Prefer": "return=representation"}
        if request.op is WriteOp.CREATE:
            headers["If-None-Match"] = "*"
        else:
            headers["If-Match"] = request.etag or "*"
        body = {**request.values, **self._binds(kind, request.refs)}
        path = f"{DATAVERSE_ENTITY_SETS[kind]}({record_id})?$select={','.join(self._select(kind))}"
        return BatchOperation("PATCH", path, headers, body)

    def _binds(self, kind: Kind, refs: dict[Kind, list[str]]) -> dict[str, str]:
        binds: dict[str, str] = {}
        for ref_kind, ids in refs.items():
            if not ids or (kind, ref_kind) not in NAVIGATIONS:
                continue
            navigation, entity_set = NAVIGATIONS[(kind, ref_kind)]
            if kind is Kind.DEAL and ref_kind is Kind.CONTACT and not refs.get(Kind.COMPANY):
                navigation = "customerid_contact"
            binds[f"{navigation}@odata.bind"] = f"/{entity_set}({ids[0]})"
        return binds

    def _result(self, kind: Kind, request: WriteRequest, operation: BatchOperation, reply: BatchReply) -> WriteResult:
        record_id = operation.path.split("(", 1)[1].split(")", 1)[0]
        action = action_for(reply.status)
        if action is Action.OK:
            row = reply.body if isinstance(reply.body, dict) else None
            record = record_from_row(kind, row) if row else None
            etag = (row or {}).get("@odata.etag") or reply.headers.get("ETag")
            return WriteResult(ok=True, record_id=record_id, etag=etag, record=record)
        if action is Action.ETAG_MISMATCH and request.op is WriteOp.CREATE:
            # The row already exists with this client-generated id: an earlier try created it.
            return WriteResult(ok=True, record_id=record_id)
        category = "etag_mismatch" if action is Action.ETAG_MISMATCH else f"http_{reply.status}"
        if action is Action.RETRY:
            category = "transient"
        error = RecordError(error_message(reply.body), system="dynamics", kind=str(kind), record_id=record_id,
                            category=category)
        return WriteResult(ok=False, record_id=record_id, error=error)
