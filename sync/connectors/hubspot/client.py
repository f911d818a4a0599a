"""The HubSpot connector: reads and writes contacts, companies and deals with hubspot-api-client.

The official client runs unchanged, pointed at `settings.host`. Every call goes through
one `Caller`, which paces, retries and translates errors; urllib3's own retries are off
so that nothing retries twice. Every response passes its rate-limit headers to the pacer
(see `transport`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from hubspot import HubSpot
from urllib3 import Retry

from sync.connectors.base import ReadResult, WriteRequest, WriteResult
from sync.connectors.hubspot import associations
from sync.connectors.hubspot.associations import REF_KINDS, chunks
from sync.connectors.hubspot.limits import Pacer
from sync.connectors.hubspot.paging import LIST_PAGE_SIZE, list_all, search_modified_since
from sync.connectors.hubspot.pipelines import DealStage, stages_of
from sync.connectors.hubspot.retry import Caller
from sync.connectors.hubspot.transport import observing_api_factory
from sync.connectors.hubspot.values import format_time, parse_time
from sync.connectors.hubspot.writing import KEY_PROPERTIES, BatchWriter
from sync.errors import RecordError
from sync.model import HUBSPOT_MODIFIED_PROPERTY, HUBSPOT_OBJECTS, Kind, Owner, Record, System
from sync.settings import HubSpotSettings

log = structlog.get_logger(__name__)

# urllib3 would otherwise retry GETs on 429 and 503 by itself, sleeping Retry-After
# outside the connector's pacing and logs; every retry happens in `Caller` instead.
NO_RETRY = Retry(total=0, redirect=0, respect_retry_after_header=False, raise_on_status=False)

# Lists the ids merged into a record, separated by ";" (contacts and companies).
MERGED_PROPERTY = "hs_merged_object_ids"
# Batch read accepts at most 50 inputs when it returns property history, against 100 without.
HISTORY_BATCH_SIZE = 50

__all__ = ["KEY_PROPERTIES", "MERGED_PROPERTY", "HubSpotConnector", "merged_ids"]


class HubSpotConnector:
    """Reads and writes one HubSpot account.

    `properties` are the property names the mapping needs per kind; the connector adds the
    modified property, `hs_object_id`, `createdate`, `hs_merged_object_ids` and, for
    companies and deals, `crmsync_id`. `clock` is a monotonic clock in seconds and
    `sleep` a wait, both used for pacing and retries. `wall_clock` returns the current UTC
    time, which bounds the cursor. Tests pass fakes of all three.
    """

    system = System.HUBSPOT

    def __init__(self, settings: HubSpotSettings, properties: dict[Kind, list[str]], *,
                 clock: Callable[[], float] | None = None, sleep: Callable[[float], None] | None = None,
                 wall_clock: Callable[[], datetime] | None = None):
        self.settings = settings
        self.wall_clock = wall_clock or (lambda: datetime.now(UTC))
        sleep = sleep or time.sleep
        self.pacer = Pacer(settings.tier, clock=clock or time.monotonic, sleep=sleep, timezone=settings.timezone,
                           wall_clock=self.wall_clock)
        self.caller = Caller(self.pacer, sleep=sleep)
        # Every response, whatever its status, reports HubSpot's rate-limit headers to the pacer.
        observe = observing_api_factory(lambda headers, is_search: self.pacer.observe(headers, is_search=is_search))
        client = HubSpot(access_token=settings.access_token.get_secret_value(), host=settings.host,
                         retry=NO_RETRY, api_factory=observe)
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
        required = [HUBSPOT_MODIFIED_PROPERTY[kind], "hs_object_id", "createdate", MERGED_PROPERTY]
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

        An incremental read also returns the records archived since then, as
        `Record(deleted=True)`. The returned cursor is the newest modified or archived time
        read, but never later than the wall-clock time when the read started, so a record
        changed during a long read is read again next time. With nothing read, the cursor
        stays as given.
        """
        started = self.wall_clock()
        if cursor is None:
            records = self._read_all(kind)
        else:
            since = parse_time(cursor) - timedelta(seconds=self.settings.search_overlap_seconds)
            records = self._read_since(kind, since) + self._read_archived(kind, since)

        times = [record.modified_at for record in records if record.modified_at is not None]
        next_cursor = format_time(min(max(times), started)) if times else cursor
        log.info("hubspot.read", kind=str(kind), records=len(records), full=cursor is None,
                 archived=sum(record.deleted for record in records))
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
        latest: dict[str, Any] = {}
        for item in search_modified_since(search, HUBSPOT_MODIFIED_PROPERTY[kind], since_ms, self.properties[kind]):
            latest[item.id] = item  # a record modified during the read keeps its newest version
        refs = self._read_refs(kind, list(latest))
        return [self._record(kind, item, refs.get(item.id, {})) for item in latest.values()]

    def _read_archived(self, kind: Kind, since: datetime) -> list[Record]:
        """Read the records archived at or after `since`; search never returns archived records.

        The list endpoint has no time filter, so every archived record is listed and the
        older ones are dropped here. The cost grows with the number of archived records.
        """
        api = self._basic[kind]

        def page(after: str | None) -> Any:
            return self._call(f"list archived {HUBSPOT_OBJECTS[kind]}", lambda: api.get_page(
                limit=LIST_PAGE_SIZE, after=after, properties=self.properties[kind], archived=True,
                _request_timeout=self._timeout), kind=kind)

        archived = []
        for item in list_all(page):
            moment = _aware(item.archived_at or item.updated_at)
            if moment is not None and moment >= since:
                archived.append(Record(system=System.HUBSPOT, kind=kind, id=str(item.id),
                                       values=dict(item.properties or {}), modified_at=moment, deleted=True))
        return archived

    def _read_refs(self, kind: Kind, ids: list[str]) -> dict[str, dict[Kind, list[str]]]:
        if not ids or not REF_KINDS[kind]:
            return {}
        return associations.read_refs(
            lambda operation, request: self._call(operation, request, kind=kind), self._associations, kind, ids)

    def _record(self, kind: Kind, item: Any, refs: dict[Kind, list[str]]) -> Record:
        values = dict(item.properties or {})
        modified = parse_time(values.get(HUBSPOT_MODIFIED_PROPERTY[kind]), self.settings.timezone)
        full_refs = {target: refs.get(target, []) for target in REF_KINDS[kind]}
        return Record(system=System.HUBSPOT, kind=kind, id=str(item.id), values=values,
                      modified_at=modified or _aware(item.updated_at), deleted=bool(item.archived),
                      refs=full_refs)

    def find(self, kind: Kind, property_name: str, values: Sequence[str]) -> list[Record]:
        """Read the records whose unique property `property_name` (such as a contact's email)
        equals one of `values`, by batch read with `idProperty`. Values without a record are left out."""
        found: dict[str, Any] = {}
        for chunk in chunks(list(dict.fromkeys(value for value in values if value))):
            body = {"inputs": [{"id": value} for value in chunk], "idProperty": property_name,
                    "properties": self.properties[kind]}
            found.update((str(item.id), item) for item in self._batch_read(kind, body, f"by {property_name}"))
        refs = self._read_refs(kind, list(found))
        return [self._record(kind, item, refs.get(item_id, {})) for item_id, item in found.items()]

    def referring_ids(self, target: Kind, ids: Sequence[str], source: Kind) -> list[str]:
        """Return the ids of the `source` records associated with the `target` records `ids`."""
        if not ids or target not in REF_KINDS[source]:
            return []
        return associations.read_referring(
            lambda operation, request: self._call(operation, request, kind=source), self._associations,
            target, ids, source)

    def read_ids(self, kind: Kind, ids: Sequence[str]) -> list[Record]:
        """Read the given records in batches of 100; ids that do not exist are left out.

        An id that HubSpot merged into another record returns the surviving record, whose
        id differs from the requested one. `merged_ids(record)` lists the ids it absorbed.
        """
        found: dict[str, Any] = {}
        for chunk in chunks(list(dict.fromkeys(ids))):
            body = {"inputs": [{"id": record_id} for record_id in chunk], "properties": self.properties[kind]}
            found.update((str(item.id), item) for item in self._batch_read(kind, body))
        refs = self._read_refs(kind, list(found))
        return [self._record(kind, item, refs.get(item_id, {})) for item_id, item in found.items()]

    def property_change_times(self, kind: Kind, ids: Sequence[str],
                              properties: Sequence[str]) -> dict[str, dict[str, datetime]]:
        """Return when each requested property of each record last changed, from HubSpot's property history.

        Costs one batch read with `propertiesWithHistory` per 50 ids, the most HubSpot accepts
        with history, paced and retried like every call; search returns no history. The
        result maps record id, then property name, to the time of the property's newest
        history entry, as an aware UTC datetime. Records that do not exist are left out,
        and so are properties that never had a value. An id merged into another record
        comes back under the survivor's id, as in `read_ids`.
        """
        names = list(dict.fromkeys(properties))
        times: dict[str, dict[str, datetime]] = {}
        if not names:
            return times
        for chunk in chunks(list(dict.fromkeys(ids)), HISTORY_BATCH_SIZE):
            body = {"inputs": [{"id": record_id} for record_id in chunk], "properties": ["hs_object_id"],
                    "propertiesWithHistory": names}
            for item in self._batch_read(kind, body, "with property history"):
                times[str(item.id)] = _latest_changes(item.properties_with_history or {})
        return times

    def _batch_read(self, kind: Kind, body: dict[str, Any], detail: str = "") -> list[Any]:
        """Run one batch read and return its records; none when HubSpot returns 404 because no id exists."""
        operation = " ".join(part for part in (f"batch read {HUBSPOT_OBJECTS[kind]}", detail) if part)
        try:
            page = self._call(operation, lambda: self._batch[kind].read(
                body, archived=False, _request_timeout=self._timeout), kind=kind)
        except RecordError as error:
            if error.category != "OBJECT_NOT_FOUND":
                raise
            return []
        return list(page.results or [])

    # -- writing ----------------------------------------------------------------------

    def write(self, kind: Kind, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        """Write creates as upserts by the kind's unique property and updates by id.

        Returns one result per request, in order; see `BatchWriter` for partial failures,
        duplicates and associations.
        """
        writer = BatchWriter(kind, lambda operation, request: self._call(operation, request, kind=kind),
                             self._batch[kind], self._associations, self._timeout)
        return writer.write(requests)

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
        return {item["name"] for item in self.field_metadata(kind)}

    def field_metadata(self, kind: Kind) -> list[dict[str, Any]]:
        """Return the property definitions of a kind's object type, as HubSpot's JSON shape."""
        page = self._call(f"list {HUBSPOT_OBJECTS[kind]} properties", lambda: self._properties.get_all(
            HUBSPOT_OBJECTS[kind], _request_timeout=self._timeout))
        return [_camel(item.to_dict()) for item in page.results or []]



def _camel(value: Any) -> Any:
    """The SDK's to_dict() uses snake_case keys; the API's JSON uses camelCase."""
    if isinstance(value, dict):
        return {_camel_key(key): _camel(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_camel(item) for item in value]
    return value


def _camel_key(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.capitalize() for part in rest)


def merged_ids(record: Record) -> list[str]:
    """Return the ids that HubSpot merged into this record, from `hs_merged_object_ids`."""
    text = record.values.get(MERGED_PROPERTY) or ""
    return [part.strip() for part in str(text).split(";") if part.strip()]


def _latest_changes(history: dict[str, list[Any]]) -> dict[str, datetime]:
    """Return each property's newest history time in UTC; HubSpot's order of entries is not relied on."""
    latest: dict[str, datetime] = {}
    for name, entries in history.items():
        times = [moment.astimezone(UTC) for entry in entries or [] if (moment := _aware(entry.timestamp))]
        if times:
            latest[name] = max(times)
    return latest


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _v3_refs(kind: Kind, item: Any) -> dict[Kind, list[str]]:
    refs: dict[Kind, list[str]] = {}
    embedded = item.associations or {}
    for target in REF_KINDS[kind]:
        group = embedded.get(HUBSPOT_OBJECTS[target])
        ids = {str(row.id) for row in (group.results if group else None) or []}
        refs[target] = sorted(ids, key=int)
    return refs
