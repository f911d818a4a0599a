"""Batch writes to HubSpot: creates as upserts, updates by id, and their associations.

A create is an upsert by the kind's unique property (email for contacts, `crmsync_id`
for companies and deals), so a retried create can never make a second record. The upsert
endpoint takes no associations, so associations are set by one v4 batch call right after
each batch instead of inside the create.

HubSpot responds to a batch in three ways, and each is handled here:

- 200 or 201: every input succeeded.
- 207: the inputs in `results` succeeded and are committed; each error names the failed
  inputs in `context.ids` and becomes that input's `RecordError` with HubSpot's category.
- 400 or 409 for the whole batch: nothing was written, so the batch is split in halves
  until the bad input stands alone. One bad input out of 100 costs about 14 calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from sync.connectors.base import WriteOp, WriteRequest, WriteResult
from sync.connectors.hubspot import associations
from sync.connectors.hubspot.associations import chunks
from sync.connectors.hubspot.values import parse_time, to_property
from sync.errors import RecordError
from sync.model import HUBSPOT_MODIFIED_PROPERTY, HUBSPOT_OBJECTS, Kind, Record, System

log = structlog.get_logger(__name__)

# The unique property that makes a create an upsert, by kind.
KEY_PROPERTIES = {Kind.CONTACT: "email", Kind.COMPANY: "crmsync_id", Kind.DEAL: "crmsync_id"}
# HubSpot's 409 message names the record that already has the unique value.
EXISTING_ID = re.compile(r"Existing ID:\s*(\d+)")

# Runs one SDK call through the connector's caller: (operation name, request) -> result.
Call = Callable[[str, Callable[[], Any]], Any]


@dataclass
class BatchWriter:
    """Writes the requests of one kind with the SDK's batch API of that kind."""

    kind: Kind
    call: Call
    batch_api: Any
    associations_api: Any
    timeout: float

    def write(self, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        """Write creates, then updates, then archives, in batches of 100; one result per request, in order."""
        results: list[WriteResult | None] = [None] * len(requests)
        for op in WriteOp:
            positions = [index for index, request in enumerate(requests) if request.op is op]
            for chunk in chunks(positions):
                written = self._write_chunk(op, [requests[index] for index in chunk])
                for index, result in zip(chunk, written):
                    results[index] = result

        self._write_refs(requests, results)
        return [result or self._failed(request, "HubSpot returned no result", None)
                for request, result in zip(requests, results)]

    def _write_chunk(self, op: WriteOp, chunk: list[WriteRequest]) -> list[WriteResult]:
        try:
            return self._send(op, chunk)
        except RecordError as error:
            if len(chunk) == 1:
                return [self._single_failure(chunk[0], error)]
            log.warning("hubspot.batch_rejected", kind=str(self.kind), op=str(op), inputs=len(chunk),
                        category=error.category)

        middle = len(chunk) // 2
        return self._write_chunk(op, chunk[:middle]) + self._write_chunk(op, chunk[middle:])

    def _single_failure(self, request: WriteRequest, error: RecordError) -> WriteResult:
        """Turn a rejected single input into its result; a duplicate on create links the existing record."""
        existing = EXISTING_ID.search(error.reason) if error.category == "CONFLICT" else None
        if request.op is WriteOp.CREATE and existing is not None:
            log.info("hubspot.create_found_existing", kind=str(self.kind), key=request.key,
                     record_id=existing.group(1))
            return WriteResult(ok=True, record_id=existing.group(1))
        return WriteResult(ok=False, record_id=request.record_id, error=RecordError(
            error.reason, system="hubspot", kind=str(self.kind), record_id=request.record_id or request.key,
            field=error.field, category=error.category))

    def _send(self, op: WriteOp, chunk: list[WriteRequest]) -> list[WriteResult]:
        name = HUBSPOT_OBJECTS[self.kind]
        if op is WriteOp.CREATE:
            key = KEY_PROPERTIES[self.kind]
            if any(not request.key for request in chunk):
                raise RecordError(f"a create needs a value for the unique property {key}", system="hubspot",
                                  kind=str(self.kind), field=key)
            body = {"inputs": [{"idProperty": key, "id": str(request.key), "properties": _properties(request)}
                               for request in chunk]}
            response = self.call(f"batch upsert {name}",
                                 lambda: self.batch_api.upsert(body, _request_timeout=self.timeout))
            return self._match(chunk, response, lambda request: _folded(request.key),
                               lambda item: _folded((item.properties or {}).get(key)))

        if op is WriteOp.ARCHIVE:
            # HubSpot returns 204 with no body and no per-input results, so every input counts as archived.
            # NOTE: whether it also returns 204 for an id that does not exist is reported but unconfirmed.
            body = {"inputs": [{"id": str(request.record_id)} for request in chunk]}
            self.call(f"batch archive {name}", lambda: self.batch_api.archive(body, _request_timeout=self.timeout))
            return [WriteResult(ok=True, record_id=request.record_id) for request in chunk]

        body = {"inputs": [{"id": str(request.record_id), "properties": _properties(request)} for request in chunk]}
        response = self.call(f"batch update {name}", lambda: self.batch_api.update(body, _request_timeout=self.timeout))
        return self._match(chunk, response, lambda request: str(request.record_id), lambda item: str(item.id))

    def _match(self, chunk: list[WriteRequest], response: Any, request_key: Callable[[WriteRequest], str],
               result_key: Callable[[Any], str]) -> list[WriteResult]:
        """Pair the batch response's results and errors with the requests of the chunk."""
        by_key = {result_key(item): item for item in response.results or []}
        failed: dict[str, Any] = {}
        for error in getattr(response, "errors", None) or []:
            for failed_id in (error.context or {}).get("ids", []):
                failed[_folded(failed_id)] = error

        outcomes = []
        for request in chunk:
            key = request_key(request)
            item = by_key.get(key)
            if item is not None:
                outcomes.append(WriteResult(ok=True, record_id=str(item.id), record=self._record(item)))
                continue
            error = failed.get(_folded(key))
            reason = f"{error.category}: {error.message}" if error is not None else "HubSpot returned no result"
            outcomes.append(self._failed(request, reason, error.category if error is not None else None))
        return outcomes

    def _record(self, item: Any) -> Record:
        values = dict(item.properties or {})
        return Record(system=System.HUBSPOT, kind=self.kind, id=str(item.id), values=values,
                      modified_at=parse_time(values.get(HUBSPOT_MODIFIED_PROPERTY[self.kind])))

    def _failed(self, request: WriteRequest, reason: str, category: str | None) -> WriteResult:
        return WriteResult(ok=False, record_id=request.record_id, error=RecordError(
            reason, system="hubspot", kind=str(self.kind), record_id=request.record_id or request.key,
            category=category))

    # -- associations -------------------------------------------------------------------

    def _write_refs(self, requests: Sequence[WriteRequest], results: list[WriteResult | None]) -> None:
        """Make each written record's associations of a given target kind equal its `refs`.

        Associations of target kinds that a request leaves out of `refs` stay as they are.
        A pair HubSpot rejects fails its record's result.
        """
        wanted: dict[str, dict[Kind, list[str]]] = {}
        owners: dict[str, WriteResult] = {}
        for request, result in zip(requests, results):
            if result is None or not result.ok or not request.refs or result.record_id is None:
                continue
            wanted[result.record_id] = {target: [str(to_id) for to_id in ids] for target, ids in request.refs.items()}
            owners[result.record_id] = result
        if not wanted:
            return

        current = associations.read_refs(self.call, self.associations_api, self.kind, list(wanted))
        added, removed = associations.differences(wanted, current)
        associations.remove_refs(self.call, self.associations_api, self.kind, removed)
        for response in associations.write_refs(self.call, self.associations_api, self.kind, added):
            for error in getattr(response, "errors", None) or []:
                self._fail_pairs(error, owners)

    def _fail_pairs(self, error: Any, owners: dict[str, WriteResult]) -> None:
        for pair in (error.context or {}).get("pairs", []):
            from_id, _, to_id = pair.partition("->")
            result = owners.get(from_id)
            if result is None:
                continue
            result.ok = False
            result.error = RecordError(f"association to {to_id} failed: {error.category}: {error.message}",
                                       system="hubspot", kind=str(self.kind), record_id=from_id,
                                       category=error.category)


def _properties(request: WriteRequest) -> dict[str, Any]:
    return {name: to_property(value) for name, value in request.values.items()}


def _folded(value: Any) -> str:
    return str(value or "").strip().lower()
