"""The HubSpot connector: reads and writes contacts, companies and deals with hubspot-api-client.

The official client runs unchanged, pointed at `settings.host`. Every call goes through
one `Caller`, which paces, retries and translates errors; urllib3's own retries are off
so that nothing retries twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from hubspot import HubSpot
from urllib3 import Retry

from sync.connectors.base import ReadResult, WriteOp, WriteRequest, WriteResult
from sync.connectors.hubspot import associations
from sync.connectors.hubspot.associations import REF_KINDS, chunks
from sync.connectors.hubspot.limits import Pacer
from sync.connectors.hubspot.paging import LIST_PAGE_SIZE, list_all, search_modified_since
from sync.connectors.hubspot.pipelines import DealStage, stages_of
from sync.connectors.hubspot.retry import Caller
from sync.connectors.hubspot.values import format_time, parse_time, to_property
from sync.errors import RecordError
from sync.model import HUBSPOT_MODIFIED_PROPERTY, HUBSPOT_OBJECTS, Kind, Owner, Record, System
from sync.settings import HubSpotSettings

log = structlog.get_logger(__name__)

# urllib3 would otherwise retry GETs on 429 and 503 by itself, sleeping Retry-After
# outside the connector's pacing and logs; every retry happens in `Caller` instead.
NO_RETRY = Retry(total=0, redirect=0, respect_retry_after_header=False, raise_on_status=False)

# The unique property that makes a create an upsert, by kind.
KEY_PROPERTIES = {Kind.CONTACT: "email", Kind.COMPANY: "crmsync_id", Kind.DEAL: "crmsync_id"}


class HubSpotConnector:
    """Reads and writes one HubSpot account.

    `properties` are the property names the mapping needs per kind; the connector adds the
    modified property, `hs_object_id`, `createdate` and, for companies and deals,
    `crmsync_id`. `clock` is a monotonic clock in seconds and `sleep` a wait, both used for
    pacing and retries; tests pass fakes.
    """

    system = System.HUBSPOT

    def __init__(self, settings: HubSpotSettings, properties: dict[Kind, list[str]], *,
                 clock: Callable[[], float] | None = None, sleep: Callable[[float], None] | None = None):
        self.settings = settings
        sleep = sleep or time.sleep
        self.caller = Caller(Pacer(settings.tier, clock=clock or time.monotonic, sleep=sleep), sleep=sleep)
        client = HubSpot(access_token=settings.access_token.get_secret_value(), host=settings.host,
                         retry=NO_RETRY)
        # Each attribute access builds a new API client with its own connection pool; build them once.
        self._basic = {kind: getattr(client.crm, HUBSPOT_OBJECTS[kind]).basic_api for kind in Kind}
        self._batch = {kind: getattr(client.crm, HUBSPOT_OBJECTS[kind]).batch_api for kind in Kind}
        self._search = {kind: getattr(client.crm, HUBSPOT_OBJECTS[kind]).search_api for kind in Kind}
        self._associations = client.crm.associations.v4.batch_api
        self._owners = client.crm.owners.owners_api
        self._pipelines = client.crm.pipelines.pipelines_api
        self._properties = client.crm.properties.core_api
        self.properties = {kind: self._with_required(kind, properties.get(kind, [])) for kind in Kind}

    @staticmethod
    def _with_required(kind: Kind, names: list[str]) -> list[str]:
        required = [HUBSPOT_MODIFIED_PROPERTY[kind], "hs_object_id", "createdate"]
        if kind is not Kind.CONTACT:
            required.append("crmsync_id")
        return list(dict.fromkeys([*names, *required]))

    def _call(self, operation: str, request: Callable[[], Any], *, kind: Kind | None = None,
              search: bool = False) -> Any:
        return self.caller.call(operation, request, kind=str(kind) if kind else None, search=search)

    @property
    def _timeout(self) -> float:
        return self.settings.timeout_seconds

    # -- reading ----------------------------------------------------------------------

    def read(self, kind: Kind, cursor: str | None) -> ReadResult:
        """Read every record (cursor None) or those modified since the cursor, less the overlap.

        The returned cursor is the greatest modified time read, as ISO-8601 UTC, or the
        given cursor when nothing was read.
        """
        if cursor is None:
            records = self._read_all(kind)
        else:
            records = self._read_since(kind, parse_time(cursor) - timedelta(seconds=self.settings.search_overlap_seconds))
        times = [record.modified_at for record in records if record.modified_at is not None]
        next_cursor = format_time(max(times)) if times else cursor
        log.info("hubspot.read", kind=str(kind), records=len(records), full=cursor is None)
        return ReadResult(records=records, cursor=next_cursor, full=cursor is None)

    def _read_all(self, kind: Kind) -> list[Record]:
        api = self._basic[kind]
        targets = [HUBSPOT_OBJECTS[target] for target in REF_KINDS[kind]]

        def page(after: str | None) -> Any:
            return self._call(f"list {HUBSPOT_OBJECTS[kind]}", lambda: api.get_page(
                limit=LIST_PAGE_SIZE, after=after, properties=self.properties[kind],
                associations=targets or None, archived=False, _request_timeout=self._timeout), kind=kind)

        # NOTE: the v3 list may embed only part of a record's associations when it has
        # many (the cap is not documented). This full read makes no v4 read to complete them.
        return [self._record(kind, item, _v3_refs(kind, item)) for item in list_all(page)]

    def _read_since(self, kind: Kind, since: datetime) -> list[Record]:
        api = self._search[kind]

        def search(body: dict[str, Any]) -> Any:
            return self._call(f"search {HUBSPOT_OBJECTS[kind]}", lambda: api.do_search(
                body, _request_timeout=self._timeout), kind=kind, search=True)

        since_ms = int(since.timestamp() * 1000)
        found = list(search_modified_since(search, HUBSPOT_MODIFIED_PROPERTY[kind], since_ms, self.properties[kind]))
        refs = self._read_refs(kind, [item.id for item in found])
        return [self._record(kind, item, refs.get(item.id, {})) for item in found]

    def _read_refs(self, kind: Kind, ids: list[str]) -> dict[str, dict[Kind, list[str]]]:
        if not ids or not REF_KINDS[kind]:
            return {}
        return associations.read_refs(
            lambda operation, request: self._call(operation, request, kind=kind), self._associations, kind, ids)

    def _record(self, kind: Kind, item: Any, refs: dict[Kind, list[str]]) -> Record:
        values = dict(item.properties or {})
        modified = parse_time(values.get(HUBSPOT_MODIFIED_PROPERTY[kind])) or item.updated_at
        full_refs = {target: refs.get(target, []) for target in REF_KINDS[kind]}
        return Record(system=System.HUBSPOT, kind=kind, id=str(item.id), values=values,
                      modified_at=modified, deleted=bool(item.archived), refs=full_refs)

    def read_ids(self, kind: Kind, ids: Sequence[str]) -> list[Record]:
        """Read the given records in batches of 100; ids that do not exist are left out."""
        found: list[Any] = []
        for chunk in chunks(list(ids)):
            body = {"inputs": [{"id": record_id} for record_id in chunk], "properties": self.properties[kind]}
            try:
                page = self._call(f"batch read {HUBSPOT_OBJECTS[kind]}", lambda body=body: self._batch[kind].read(
                    body, archived=False, _request_timeout=self._timeout), kind=kind)
            except RecordError as error:
                if error.category != "OBJECT_NOT_FOUND":
                    raise
                continue  # HubSpot returns 404 when none of the ids exists
            found.extend(page.results or [])
        refs = self._read_refs(kind, [item.id for item in found])
        return [self._record(kind, item, refs.get(item.id, {})) for item in found]

    # -- writing ----------------------------------------------------------------------

    def write(self, kind: Kind, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        """Write creates as upserts by the kind's unique property and updates by id.

        Returns one result per request, in order. A call that HubSpot rejects as a whole
        is retried one input at a time, so that one bad record cannot fail the others.
        """
        results: list[WriteResult | None] = [None] * len(requests)
        for op in WriteOp:
            positions = [index for index, request in enumerate(requests) if request.op is op]
            for chunk in chunks(positions):
                for index, result in zip(chunk, self._write_chunk(kind, op, [requests[i] for i in chunk])):
                    results[index] = result
        self._write_refs(kind, requests, results)
        return [result or WriteResult(ok=False, error=RecordError("no result", system="hubspot", kind=str(kind)))
                for result in results]

    def _write_chunk(self, kind: Kind, op: WriteOp, chunk: list[WriteRequest]) -> list[WriteResult]:
        try:
            return self._send(kind, op, chunk)
        except RecordError as error:
            if len(chunk) == 1:
                return [WriteResult(ok=False, record_id=chunk[0].record_id, error=_with_record(error, chunk[0]))]
        log.warning("hubspot.batch_rejected", kind=str(kind), op=str(op), inputs=len(chunk))
        return [result for request in chunk for result in self._write_chunk(kind, op, [request])]

    def _send(self, kind: Kind, op: WriteOp, chunk: list[WriteRequest]) -> list[WriteResult]:
        name = HUBSPOT_OBJECTS[kind]
        api = self._batch[kind]
        if op is WriteOp.CREATE:
            key = KEY_PROPERTIES[kind]
            invalid = [request for request in chunk if not request.key]
            if invalid:
                raise RecordError(f"a create needs a value for the unique property {key}", system="hubspot",
                                  kind=str(kind), field=key)
            body = {"inputs": [{"idProperty": key, "id": str(request.key), "properties": _properties(request)}
                               for request in chunk]}
            response = self._call(f"batch upsert {name}", lambda: api.upsert(body, _request_timeout=self._timeout),
                                  kind=kind)
            return _match(kind, chunk, response, lambda request: str(request.key).strip().lower(),
                          lambda item: str((item.properties or {}).get(key) or "").strip().lower())
        body = {"inputs": [{"id": str(request.record_id), "properties": _properties(request)} for request in chunk]}
        response = self._call(f"batch update {name}", lambda: api.update(body, _request_timeout=self._timeout),
                              kind=kind)
        return _match(kind, chunk, response, lambda request: str(request.record_id), lambda item: str(item.id))

    def _write_refs(self, kind: Kind, requests: Sequence[WriteRequest], results: list[WriteResult | None]) -> None:
        """Create the associations of the written records; a failed pair fails its record's result."""
        pairs, owners = [], {}
        for request, result in zip(requests, results):
            if result is None or not result.ok:
                continue
            for target, ids in request.refs.items():
                for to_id in ids:
                    pairs.append((result.record_id, target, str(to_id)))
                    owners[(result.record_id, str(to_id))] = result
        if not pairs:
            return
        call = lambda operation, request: self._call(operation, request, kind=kind)  # noqa: E731
        for response in associations.write_refs(call, self._associations, kind, pairs):
            for error in getattr(response, "errors", None) or []:
                self._fail_pairs(kind, error, owners)

    @staticmethod
    def _fail_pairs(kind: Kind, error: Any, owners: dict[tuple[str, str], WriteResult]) -> None:
        for pair in (error.context or {}).get("pairs", []):
            from_id, _, to_id = pair.partition("->")
            result = owners.get((from_id, to_id))
            if result is not None:
                result.ok = False
                result.error = RecordError(f"association to {to_id} failed: {error.message}", system="hubspot",
                                           kind=str(kind), record_id=from_id, category=error.category)

    # -- owners, stages and properties ------------------------------------------------

    def owners(self) -> list[Owner]:
        """List active and archived owners; archived ones come back with active=False."""
        owners = []
        for archived in (False, True):
            def page(after: str | None, archived: bool = archived) -> Any:
                return self._call("list owners", lambda: self._owners.get_page(
                    after=after, limit=100, archived=archived, _request_timeout=self._timeout))

            for item in list_all(page):
                name = " ".join(part for part in (item.first_name, item.last_name) if part) or None
                owners.append(Owner(system=System.HUBSPOT, id=str(item.id), email=item.email, name=name,
                                    active=not archived))
        return owners

    def deal_stages(self) -> list[DealStage]:
        """List the stages of every deal pipeline."""
        page = self._call("list deal pipelines", lambda: self._pipelines.get_all(
            "deals", _request_timeout=self._timeout))
        return [stage for pipeline in page.results or [] for stage in stages_of(pipeline)]

    def field_names(self, kind: Kind) -> set[str]:
        """Return the property names HubSpot defines for a kind's object type."""
        page = self._call(f"list {HUBSPOT_OBJECTS[kind]} properties", lambda: self._properties.get_all(
            HUBSPOT_OBJECTS[kind], _request_timeout=self._timeout))
        return {item.name for item in page.results or []}


def _properties(request: WriteRequest) -> dict[str, Any]:
    return {name: to_property(value) for name, value in request.values.items()}


def _v3_refs(kind: Kind, item: Any) -> dict[Kind, list[str]]:
    refs: dict[Kind, list[str]] = {}
    embedded = item.associations or {}
    for target in REF_KINDS[kind]:
        group = embedded.get(HUBSPOT_OBJECTS[target])
        ids = {str(row.id) for row in (group.results if group else None) or []}
        refs[target] = sorted(ids, key=int)
    return refs


def _with_record(error: RecordError, request: WriteRequest) -> RecordError:
    return RecordError(error.reason, system="hubspot", kind=error.kind, record_id=request.record_id or request.key,
                       field=error.field, category=error.category)


def _match(kind: Kind, chunk: list[WriteRequest], response: Any, request_key: Callable[[WriteRequest], str],
           result_key: Callable[[Any], str]) -> list[WriteResult]:
    """Pair the batch response's results and errors with the requests of the chunk."""
    by_key = {result_key(item): item for item in response.results or []}
    failed: dict[str, Any] = {}
    for error in getattr(response, "errors", None) or []:
        for failed_id in (error.context or {}).get("ids", []):
            failed[str(failed_id).strip().lower()] = error
    outcomes = []
    for request in chunk:
        key = request_key(request)
        item = by_key.get(key)
        if item is not None:
            record = Record(system=System.HUBSPOT, kind=kind, id=str(item.id), values=dict(item.properties or {}),
                            modified_at=parse_time((item.properties or {}).get(HUBSPOT_MODIFIED_PROPERTY[kind])))
            outcomes.append(WriteResult(ok=True, record_id=str(item.id), record=record))
            continue
        error = failed.get(key.lower())
        reason = f"{error.category}: {error.message}" if error is not None else "HubSpot returned no result"
        outcomes.append(WriteResult(ok=False, record_id=request.record_id, error=RecordError(
            reason, system="hubspot", kind=str(kind), record_id=request.record_id or request.key,
            category=error.category if error is not None else None)))
    return outcomes

