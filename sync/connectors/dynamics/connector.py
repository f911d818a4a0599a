"""The Dynamics 365 connector: reads and writes Dataverse rows as `Record`s.

Reads page with `Prefer: odata.maxpagesize` and follow `@odata.nextLink` unchanged.
Tables with change tracking are read through deltaLinks (see `changes`), which also
return deleted rows. An expired or rejected delta token leads to a full read instead. Tables
without it filter on `modifiedon`, starting `modified_overlap_seconds` before the cursor. Writes go through `$batch`, one change set per request, with
`Prefer: odata.continue-on-error`, so one rejected row never sinks the others. Creates
are PATCH upserts of a client-generated id with `If-None-Match: *`, so a retried create
cannot make a second row. Opportunities go through `OpportunityWriter`, because Dataverse
closes them only with the WinOpportunity and LoseOpportunity actions. A contact or
account merged into another by Dataverse's Merge action is read as a record whose
`merged_into` names the surviving row, not as a deleted one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from sync.connectors.base import ReadResult, WriteOp, WriteRequest, WriteResult
from sync.connectors.dynamics.changes import CursorForm, cursor_form, deleted_record, delta_path, parse_delta_link
from sync.connectors.dynamics.client import API_PATH, WebApiClient
from sync.connectors.dynamics.deactivate import as_state_update
from sync.connectors.dynamics.errors import Action, action_for, error_message
from sync.connectors.dynamics.odata import BatchOperation, BatchReply, build_batch, parse_batch_response
from sync.connectors.dynamics.opportunities import OpportunityWriter
from sync.connectors.dynamics.records import LOOKUP_COLUMNS, MERGE_COLUMNS, parse_time, record_from_row
from sync.errors import RecordError
from sync.model import DATAVERSE_ENTITY_SETS, DATAVERSE_PRIMARY_KEYS, DATAVERSE_TABLES, Kind, Owner, Record, System
from sync.settings import DynamicsSettings

log = structlog.get_logger(__name__)

ANNOTATIONS = 'odata.include-annotations="*"'
TRACK_CHANGES = "odata.track-changes"
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
        self._tracking: dict[Kind, bool] = {}

    def read(self, kind: Kind, cursor: str | None) -> ReadResult:
        """Read every row when `cursor` is None, else the changes since it.

        `cursor` is a deltaLink or a `modifiedon` time. A time cursor on a table that has
        change tracking leads to one full read, whose deltaLink replaces it. Raises
        `ValueError` for a cursor of neither form.
        """
        form = cursor_form(cursor)
        if form is CursorForm.DELTA_LINK and cursor is not None:
            return self._read_delta(kind, cursor)
        tracked = self.change_tracking(kind)
        if form is CursorForm.MODIFIED_TIME and cursor is not None and not tracked:
            return self._read_modified(kind, cursor)
        if form is CursorForm.MODIFIED_TIME:
            log.info("dynamics.cursor_upgraded", kind=str(kind), reason="the table has change tracking")
        return self._read_full(kind, tracked)

    def change_tracking(self, kind: Kind) -> bool:
        """Tell whether the kind's table has change tracking, from its metadata; asked once per connector."""
        if kind not in self._tracking:
            path = f"EntityDefinitions(LogicalName='{DATAVERSE_TABLES[kind]}')"
            response = self.client.send("GET", path, params={"$select": "ChangeTrackingEnabled"})
            if action_for(response.status_code) is Action.OK:
                self._tracking[kind] = bool(response.json().get("ChangeTrackingEnabled"))
            else:
                log.warning("dynamics.metadata_failed", kind=str(kind), status=response.status_code,
                            error=error_message(_json_or_text(response)), fallback="modifiedon")
                self._tracking[kind] = False
        return self._tracking[kind]

    def _read_full(self, kind: Kind, tracked: bool) -> ReadResult:
        query = {"$select": ",".join(self._select(kind))}
        rows, last = self._pages(DATAVERSE_ENTITY_SETS[kind], query, track_changes=tracked)
        records = [record_from_row(kind, row) for row in rows]
        delta_link = last.get("@odata.deltaLink")
        if tracked and delta_link is None:
            log.warning("dynamics.delta_link_missing", kind=str(kind), fallback="modifiedon")
        log.info("dynamics.read", kind=str(kind), records=len(records), full=True, tracked=delta_link is not None)
        return ReadResult(records=records, cursor=delta_link or _latest(records, None), full=True)

    def _read_modified(self, kind: Kind, cursor: str) -> ReadResult:
        since = parse_time(cursor) - timedelta(seconds=self.settings.modified_overlap_seconds)
        query = {
            "$select": ",".join(self._select(kind)),
            "$filter": f"modifiedon ge {since.strftime('%Y-%m-%dT%H:%M:%SZ')}",
            "$orderby": "modifiedon asc",
        }
        records = [record_from_row(kind, row) for row in self._query(DATAVERSE_ENTITY_SETS[kind], query)]
        log.info("dynamics.read", kind=str(kind), records=len(records), full=False, tracked=False)
        return ReadResult(records=records, cursor=_latest(records, cursor), full=False)

    def _read_delta(self, kind: Kind, cursor: str) -> ReadResult:
        """Read the changes since a deltaLink; fall back to a full read when the link cannot be used."""
        delta = parse_delta_link(cursor)
        select = self._select(kind)
        if delta.select != select:
            log.warning("dynamics.delta_columns_changed", kind=str(kind), fallback="full read")
            return self._read_full(kind, self.change_tracking(kind))

        path = delta_path(DATAVERSE_ENTITY_SETS[kind], select, delta)
        response = self.client.send("GET", path, headers=self._read_headers(track_changes=True))
        if action_for(response.status_code) is not Action.OK:
            # The token expired or is invalid. A full read returns every row, so no change is missed.
            log.warning("dynamics.delta_token_rejected", kind=str(kind), status=response.status_code,
                        error=error_message(_json_or_text(response)), fallback="full read")
            self._tracking.pop(kind, None)
            return self._read_full(kind, self.change_tracking(kind))

        items, last = self._follow(response, DATAVERSE_ENTITY_SETS[kind], self._read_headers(track_changes=True))
        records = [deleted_record(kind, item) or record_from_row(kind, item) for item in items]
        deleted = sum(record.deleted for record in records)
        log.info("dynamics.read", kind=str(kind), records=len(records) - deleted, deleted=deleted, full=False,
                 tracked=True)
        return ReadResult(records=records, cursor=last.get("@odata.deltaLink") or cursor, full=False)

    def read_ids(self, kind: Kind, ids: Sequence[str]) -> list[Record]:
        """Read the given rows; ids that do not exist are left out."""
        key = DATAVERSE_PRIMARY_KEYS[kind]
        records: list[Record] = []
        for start in range(0, len(ids), IDS_PER_QUERY):
            chunk = [str(uuid.UUID(value)) for value in ids[start:start + IDS_PER_QUERY]]
            query = {"$select": ",".join(self._select(kind)), "$filter": " or ".join(f"{key} eq {i}" for i in chunk)}
            records += [record_from_row(kind, row) for row in self._query(DATAVERSE_ENTITY_SETS[kind], query)]
        return records

    def find(self, kind: Kind, column: str, values: Sequence[str]) -> list[Record]:
        """Read the rows whose text `column` equals one of `values`.

        Dataverse compares text without regard to case under its default collation, so
        'Pat@Acme.example' finds 'pat@acme.example'.
        """
        records: list[Record] = []
        wanted = list(dict.fromkeys(value for value in values if value))
        for start in range(0, len(wanted), IDS_PER_QUERY):
            chunk = wanted[start:start + IDS_PER_QUERY]
            condition = " or ".join(f"{column} eq {_odata_text(value)}" for value in chunk)
            query = {"$select": ",".join(self._select(kind)), "$filter": condition}
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
        requests = [as_state_update(kind, request) for request in requests]
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
        return writer.write(requests, [self._binds(Kind.DEAL, request.refs, request.op) for request in requests])

    def _select(self, kind: Kind) -> list[str]:
        names = [DATAVERSE_PRIMARY_KEYS[kind], *self.columns.get(kind, []), *SYSTEM_COLUMNS, *LOOKUP_COLUMNS[kind],
                 *MERGE_COLUMNS[kind]]
        return list(dict.fromkeys(names))

    def _query(self, entity_set: str, query: dict[str, str]) -> list[dict[str, Any]]:
        return self._pages(entity_set, query)[0]

    def _read_headers(self, track_changes: bool = False) -> dict[str, str]:
        prefer = f"odata.maxpagesize={self.settings.page_size},{ANNOTATIONS}"
        return {"Prefer": f"{prefer},{TRACK_CHANGES}" if track_changes else prefer}

    def _pages(self, entity_set: str, query: dict[str, str], *,
               track_changes: bool = False) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Read every page of a query; return the rows and the body of the last page."""
        headers = self._read_headers(track_changes)
        response = self.client.send("GET", entity_set, params=query, headers=headers)
        return self._follow(response, entity_set, headers)

    def _follow(self, response: Any, entity_set: str,
                headers: dict[str, str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Collect the rows of a first page and of every `@odata.nextLink` after it, sent unchanged."""
        rows: list[dict[str, Any]] = []
        while True:
            body = self._checked_json(response, entity_set)
            rows += body.get("value", [])
            next_link = body.get("@odata.nextLink")
            if not next_link:
                return rows, body
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
        body = {**request.values, **self._binds(kind, request.refs, request.op)}
        path = f"{DATAVERSE_ENTITY_SETS[kind]}({record_id})?$select={','.join(self._select(kind))}"
        return BatchOperation("PATCH", path, headers, body)

    def _binds(self, kind: Kind, refs: dict[Kind, list[str]], op: WriteOp) -> dict[str, str | None]:
        """Lookups to write as `@odata.bind`; an empty list on an update clears the lookup."""
        binds: dict[str, str | None] = {}
        for ref_kind, ids in refs.items():
            if (kind, ref_kind) not in NAVIGATIONS:
                continue
            navigation, entity_set = NAVIGATIONS[(kind, ref_kind)]
            if not ids:
                if op is WriteOp.UPDATE:
                    binds[f"{navigation}@odata.bind"] = None
                continue
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


def _latest(records: list[Record], default: str | None) -> str | None:
    """Return the newest `modifiedon` of the records as a cursor, or `default` when none has one."""
    latest = max((record.modified_at for record in records if record.modified_at), default=None)
    return latest.strftime("%Y-%m-%dT%H:%M:%SZ") if latest else default


def _json_or_text(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _odata_text(value: str) -> str:
    """Return `value` as an OData string literal: quoted, with single quotes doubled."""
    return "'" + str(value).replace("'", "''") + "'"
