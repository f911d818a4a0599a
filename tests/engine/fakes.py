"""An in-memory connector for engine tests: records per kind, a clock, and write logs."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sync.connectors.base import ReadResult, WriteOp, WriteRequest, WriteResult
from sync.errors import RecordError
from sync.model import Kind, Owner, Record, System


class Clock:
    def __init__(self, start: datetime = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)):
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@dataclass
class FakeConnector:
    system: System
    clock: Clock
    records: dict[Kind, dict[str, Record]] = field(default_factory=lambda: {kind: {} for kind in Kind})
    writes: list[tuple[Kind, WriteRequest]] = field(default_factory=list)
    reject_ids: set[str] = field(default_factory=set)
    # Called once before the next write, to simulate a user edit racing the run.
    before_write: Any = None
    # Property edit times, by record id, kept by `edit` when `keeps_history` is set.
    keeps_history: bool = False
    history: dict[str, dict[str, datetime]] = field(default_factory=dict)
    history_reads: list[tuple[Kind, list[str], list[str]]] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1001))

    def add(self, kind: Kind, values: dict[str, Any], refs: dict[Kind, list[str]] | None = None, record_id: str | None = None) -> str:
        record_id = record_id or self._new_id()
        self.records[kind][record_id] = Record(self.system, kind, record_id, dict(values), self.clock(),
                                               etag=self._etag(), refs=refs or {})
        return record_id

    def edit(self, kind: Kind, record_id: str, **values: Any) -> None:
        record = self.records[kind][record_id]
        record.values.update(values)
        record.modified_at = self.clock()
        record.etag = self._etag()
        if self.keeps_history:
            self.history.setdefault(record_id, {}).update({name: record.modified_at for name in values})

    def property_change_times(self, kind: Kind, ids: Sequence[str], properties: Sequence[str]) -> dict[str, dict[str, datetime]]:
        """Return the edit times of `properties`, like HubSpot's property history."""
        self.history_reads.append((kind, list(ids), list(properties)))
        found = {}
        for record_id in ids:
            times = {name: moment for name, moment in self.history.get(record_id, {}).items() if name in properties}
            if times:
                found[record_id] = times
        return found

    def read(self, kind: Kind, cursor: str | None) -> ReadResult:
        records = list(self.records[kind].values())
        if cursor is not None:
            since = datetime.fromisoformat(cursor)
            records = [record for record in records if record.modified_at >= since]
        newest = max((record.modified_at for record in records), default=None)
        next_cursor = newest.isoformat() if newest else cursor
        return ReadResult([_copy(record) for record in records], next_cursor, full=cursor is None)

    def find(self, kind: Kind, field_name: str, values: Sequence[str]) -> list[Record]:
        wanted = {str(value).lower() for value in values}
        return [_copy(record) for record in self.records[kind].values()
                if str(record.values.get(field_name) or "").lower() in wanted]

    def read_ids(self, kind: Kind, ids: Sequence[str]) -> list[Record]:
        return [_copy(self.records[kind][record_id]) for record_id in ids if record_id in self.records[kind]]

    def write(self, kind: Kind, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        if self.before_write is not None:
            hook, self.before_write = self.before_write, None
            hook()
        results = []
        for request in requests:
            self.writes.append((kind, request))
            key = request.record_id or request.key or ""
            if key in self.reject_ids or request.values.get("lastname") == "REJECT":
                results.append(WriteResult(False, error=RecordError("rejected by the fake", system=str(self.system),
                                                                    kind=str(kind), record_id=key)))
                continue
            results.append(self._apply(kind, request))
        return results

    def _apply(self, kind: Kind, request: WriteRequest) -> WriteResult:
        if request.op is WriteOp.CREATE:
            record_id = request.record_id or self._find_key(kind, request) or self._new_id()
            existing = self.records[kind].get(record_id)
            values = {**(existing.values if existing else {}), **request.values}
            self.records[kind][record_id] = Record(self.system, kind, record_id, values, self.clock(), self._etag(),
                                                   refs=dict(request.refs))
            return WriteResult(True, record_id=record_id)
        record = self.records[kind][request.record_id]
        if request.etag is not None and request.etag != record.etag:
            return WriteResult(False, error=RecordError("the record changed since it was read", system=str(self.system),
                                                        kind=str(kind), record_id=record.id, category="etag_mismatch"))
        record.values.update(request.values)
        record.refs.update(request.refs)
        record.modified_at = self.clock()
        record.etag = self._etag()
        return WriteResult(True, record_id=record.id, etag=record.etag)

    def _find_key(self, kind: Kind, request: WriteRequest) -> str | None:
        field_name = "email" if kind is Kind.CONTACT else "crmsync_id"
        for record in self.records[kind].values():
            if request.key and record.values.get(field_name) == request.key:
                return record.id
        return None

    def owners(self) -> list[Owner]:
        return []

    def field_names(self, kind: Kind) -> set[str]:
        return set()

    def write_count(self) -> int:
        return len(self.writes)

    def _new_id(self) -> str:
        return str(next(self._ids)) if self.system is System.HUBSPOT else str(uuid.uuid4())

    @staticmethod
    def _etag() -> str:
        return f'W/"{uuid.uuid4().int % 10**8}"'


def _copy(record: Record) -> Record:
    return Record(record.system, record.kind, record.id, dict(record.values), record.modified_at, record.etag,
                  record.deleted, {kind: list(ids) for kind, ids in record.refs.items()},
                  dict(record.changed_at), record.merged_into)
