"""A local HubSpot CRM v3 that the official hubspot-api-client talks to unchanged.

Point the client at it with `HubSpot(access_token=TOKEN, host=server.url)`. The sandbox
keeps contacts, companies and deals with their associations, owners, deal pipelines and
property definitions in memory. `dump()` and `load()` carry that state between restarts.
The HTTP side lives in `hubspot_routes`; search in `hubspot_search`; auth, rate limits
and fault injection in `hubspot_limits`; property history in `hubspot_history`.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sync.sandbox import hubspot_history
from sync.sandbox.http import Router
from sync.sandbox.hubspot_history import History, SourceType, merged_history, record_changes
from sync.sandbox.hubspot_limits import Fault, Gatekeeper
from sync.sandbox.hubspot_schema import (
    ASSOCIATION_BY_ID, MODIFIED_PROPERTY, OBJECT_TYPES, SINGULAR, UNIQUE_PROPERTIES,
    PropertyDefinition, PropertyType, default_pipelines, default_properties, format_time,
    parse_time, property_from_json, property_to_json, unlabeled_type,
)


class InputError(ValueError):
    """A request the sandbox rejects; routes turn it into a HubSpot error response."""

    def __init__(self, status: int, category: str, message: str, context: dict[str, Any] | None = None):
        self.status = status
        self.category = category
        self.context = context or {}
        super().__init__(message)


@dataclass
class StoredRecord:
    id: str
    properties: dict[str, str | None]
    created_at: datetime
    updated_at: datetime
    archived: bool = False
    # Search lags behind writes: until `indexed_at`, search sees `indexed` (the version
    # before the last change, or None for a record search has not seen yet).
    indexed_at: datetime | None = None
    indexed: dict[str, str | None] | None = None
    # Every value each property took, oldest first; see `hubspot_history`.
    history: History = field(default_factory=dict)


class HubSpotSandbox:
    """The in-memory HubSpot portal behind the sandbox server.

    `clock` gives the wall-clock time for created and modified stamps (default: now, UTC).
    `monotonic` drives the rate-limit windows (default: time.monotonic); tests pass a fake
    one so that windows pass without waiting. `search_lag_seconds` delays every change's
    appearance in search by that many seconds of `clock`, as HubSpot's index does.
    `daily_limit` overrides the tier's daily request cap, which starts again at midnight in
    `timezone`, the account's time zone. `scopes` restricts the private app's scopes (None
    grants all). Every public method is thread-safe.
    """

    def __init__(self, token: str, clock: Callable[[], datetime] | None = None, tier: str = "professional",
                 *, rate_limits: bool = True, monotonic: Callable[[], float] | None = None,
                 search_lag_seconds: float = 0.0, daily_limit: int | None = None, scopes: set[str] | None = None,
                 timezone: str = "UTC"):
        self.clock = clock or (lambda: datetime.now(UTC))
        self.lock = threading.RLock()
        self.objects: dict[str, dict[str, StoredRecord]] = {name: {} for name in OBJECT_TYPES}
        # (from type, from id, to type) -> {to id: association type ids}
        self.links: dict[tuple[str, str, str], dict[str, set[int]]] = {}
        # (object type, unique property) -> {case-folded value: record id}; see find_unique.
        self._unique_index: dict[tuple[str, str], dict[str, str]] = {}
        self.owner_table: dict[str, dict[str, Any]] = {}
        self.pipelines = default_pipelines()
        self.schema = default_properties()
        self._next_id = 1001
        self.search_lag_seconds = search_lag_seconds
        # (object type, merged id) -> the id of the record it was merged into.
        self.merged: dict[tuple[str, str], str] = {}
        self.gate = Gatekeeper(token, tier, monotonic or time.monotonic, rate_limits=rate_limits,
                               daily_limit=daily_limit, scopes=scopes, wall_clock=self.clock, timezone=timezone)
        self.router = Router()
        self.router.before.extend([self.gate.check_token, self.gate.check_scopes, self.gate.check_faults,
                                   self.gate.check_rate])

        from sync.sandbox.hubspot_routes import mount_routes  # the routes module imports this one
        mount_routes(self)

    # -- test and seeding API ---------------------------------------------------------

    def add_record(self, object_type: str, properties: Mapping[str, Any], *,
                   created_at: datetime | None = None, modified_at: datetime | None = None,
                   index_delay: float | None = None) -> str:
        """Create a record directly in the store and return its id.

        Unknown properties are defined as text properties, so seeds can carry custom fields.
        `index_delay` overrides `search_lag_seconds` for this change. Raises InputError on a
        duplicate unique value or an invalid value.
        """
        with self.lock:
            for name in properties:
                if name not in self.schema[object_type]:
                    self.schema[object_type][name] = PropertyDefinition(name)
            record = self.create(object_type, properties, created_at=created_at, modified_at=modified_at, seed=True)
            self._delay_index(record, index_delay)
            return record.id

    def update_record(self, object_type: str, record_id: str, properties: Mapping[str, Any], *,
                      modified_at: datetime | None = None, index_delay: float | None = None) -> None:
        with self.lock:
            seen = self.searchable(self.get(object_type, record_id))
            record = self.update(object_type, record_id, properties, modified_at=modified_at, seed=True)
            if index_delay is not None:
                record.indexed = None if seen is None else dict(seen)
                self._delay_index(record, index_delay)

    def set_rate_limits(self, tier: str, *, monotonic: Callable[[], float] | None = None,
                        daily_limit: int | None = None, enabled: bool = True) -> None:
        """Replace the rate limits with fresh windows and a fresh day's count.

        For tests that get the sandbox from `Sandbox`: a tier, a fake monotonic clock shared
        with the connector, a daily cap. The token, scopes, time zone and pending faults stay.
        """
        with self.lock:
            old = self.gate
            self.gate = Gatekeeper(old.token, tier, monotonic or time.monotonic, rate_limits=enabled,
                                   faults=old.faults, daily_limit=daily_limit, scopes=old.scopes,
                                   wall_clock=self.clock, timezone=old.timezone)
            self.router.before = [getattr(self.gate, hook.__name__) if getattr(hook, "__self__", None) is old
                                  else hook for hook in self.router.before]

    def _delay_index(self, record: StoredRecord, seconds: float | None) -> None:
        if seconds is not None:
            record.indexed_at = self.clock() + timedelta(seconds=seconds)

    def searchable(self, record: StoredRecord) -> dict[str, str | None] | None:
        """Return the properties search sees for a record now, or None while it is not indexed."""
        if record.archived:
            return None
        if record.indexed_at is None or self.clock() >= record.indexed_at:
            return record.properties
        return record.indexed

    def merge(self, object_type: str, primary_id: str, merged_id: str) -> StoredRecord:
        """Merge `merged_id` into `primary_id` as HubSpot's merge endpoint does; return the survivor.

        Contacts and companies get a new survivor with a new id, and both old ids redirect
        to it; deals keep the primary's id. The primary's non-empty values win, the
        associations of both move to the survivor, and `hs_merged_object_ids` lists every
        absorbed id, separated by ";". A contact's absorbed email moves to
        `hs_additional_emails`. Raises InputError 404 for an unknown id, 400 for merging a record into itself.
        """
        with self.lock:
            primary, merged = self.get(object_type, primary_id), self.get(object_type, merged_id)
            if primary.id == merged.id:
                raise InputError(400, "VALIDATION_ERROR", f"Cannot merge {SINGULAR[object_type]} {primary.id} into itself")
            values = _merged_values(object_type, primary, merged)
            from_merged = [name for name, value in merged.properties.items()
                           if value not in (None, "") and primary.properties.get(name) in (None, "")]
            history = merged_history(primary.history, merged.history, from_merged)
            for old in (primary, merged):
                del self.objects[object_type][old.id]
            survivor = self._survivor(object_type, primary, values, history)
            self._move_associations(object_type, [primary.id, merged.id], survivor.id)
            for old_id in {primary.id, merged.id} - {survivor.id}:
                self.merged[(object_type, old_id)] = survivor.id
            for key, target in list(self.merged.items()):
                if key[0] == object_type and target in (primary.id, merged.id):
                    self.merged[key] = survivor.id
            return survivor

    def _survivor(self, object_type: str, primary: StoredRecord, values: dict[str, str | None],
                  history: History) -> StoredRecord:
        now = self.clock()
        survivor_id = primary.id if object_type == "deals" else self._new_id()
        if survivor_id == primary.id:
            absorbed = (values.get("hs_merged_object_ids") or "").split(";")
            values["hs_merged_object_ids"] = ";".join(part for part in absorbed if part != primary.id)
        survivor = StoredRecord(survivor_id, values, primary.created_at, now, history=history)
        computed = {name: values.get(name) for name in ("hs_merged_object_ids", ADDITIONAL_EMAILS) if name in values}
        record_changes(survivor.history, computed, now, SourceType.CALCULATED)
        self._stamp(object_type, survivor, now)
        self.objects[object_type][survivor.id] = survivor
        return survivor

    def _move_associations(self, object_type: str, old_ids: list[str], new_id: str) -> None:
        for (from_type, from_id, to_type), targets in list(self.links.items()):
            if from_type == object_type and from_id in old_ids:
                merged = self.links.setdefault((from_type, new_id, to_type), {})
                for to_id, type_ids in self.links.pop((from_type, from_id, to_type)).items():
                    merged.setdefault(to_id, set()).update(type_ids)
            for old_id in old_ids:
                if to_type == object_type and old_id in targets:
                    targets.setdefault(new_id, set()).update(targets.pop(old_id))

    def archive_record(self, object_type: str, record_id: str) -> None:
        with self.lock:
            record = self.objects[object_type].get(record_id)
            if record is not None:
                record.archived = True
                record.updated_at = self.clock()

    def records(self, object_type: str, archived: bool = False) -> list[dict[str, Any]]:
        """Return every record of a type as {id, properties, ...}, in id order."""
        with self.lock:
            chosen = [item for item in self.objects[object_type].values() if item.archived == archived]
            return [self.render(object_type, item, properties=None, all_properties=True) for item in chosen]

    def define_property(self, object_type: str, name: str, type: str = "string", *, unique: bool = False) -> None:
        with self.lock:
            self.schema[object_type][name] = PropertyDefinition(name, PropertyType(type), unique=unique)

    def associate(self, from_type: str, from_id: str, to_type: str, to_id: str, type_id: int) -> None:
        """Associate two records both ways; a primary type also sets the unlabeled one."""
        with self.lock:
            spec = ASSOCIATION_BY_ID.get((from_type, to_type, int(type_id)))
            if spec is None:
                raise InputError(400, "VALIDATION_ERROR",
                                 f"association type {type_id} does not exist from {from_type} to {to_type}")
            for object_type, record_id in ((from_type, from_id), (to_type, to_id)):
                self.get(object_type, record_id)
            specs = [spec]
            if spec.primary and (plain := unlabeled_type(from_type, to_type)) is not None:
                specs.append(plain)
            for item in specs:
                self.links.setdefault((from_type, from_id, to_type), {}).setdefault(to_id, set()).add(item.type_id)
                self.links.setdefault((to_type, to_id, from_type), {}).setdefault(from_id, set()).add(item.reverse_id)

    def associations(self, from_type: str, from_id: str, to_type: str) -> list[str]:
        """Return the ids associated with one record, in id order."""
        with self.lock:
            found = self.links.get((from_type, from_id, to_type), {})
            return sorted(found, key=int)

    def association_types(self, from_type: str, from_id: str, to_type: str, to_id: str) -> set[int]:
        with self.lock:
            return set(self.links.get((from_type, from_id, to_type), {}).get(to_id, set()))

    def add_owner(self, email: str, first_name: str, last_name: str, active: bool = True) -> str:
        with self.lock:
            owner_id = self._new_id()
            stamp = format_time(self.clock())
            self.owner_table[owner_id] = {
                "id": owner_id, "email": email, "firstName": first_name, "lastName": last_name,
                "userId": int(owner_id), "userIdIncludingInactive": int(owner_id), "type": "PERSON",
                "archived": not active, "teams": [], "createdAt": stamp, "updatedAt": stamp,
            }
            return owner_id

    def set_pipelines(self, pipelines: list[dict[str, Any]]) -> None:
        """Replace the deal pipelines, given in the shape GET /crm/v3/pipelines/deals returns."""
        with self.lock:
            self.pipelines = [dict(pipeline) for pipeline in pipelines]

    def inject(self, path_regex: str, status: int, times: int = 1, retry_after: float | None = None,
               *, method: str | None = None, body: Any = None, delay_seconds: float = 0.0) -> None:
        """Answer the next `times` requests whose path matches with `status`.

        Status -1 drops the connection without an answer. `delay_seconds` holds each request
        that long in real time first, so a client with a shorter timeout times out; status 0
        then lets the request through.
        """
        self.gate.inject(Fault(re.compile(path_regex), status, times, retry_after, method, body, delay_seconds))

    # -- store operations used by the routes --------------------------------------------

    def _new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def get(self, object_type: str, record_id: str, *, archived: bool = False,
            id_property: str | None = None) -> StoredRecord:
        """Find one record by id or by a unique property; raise InputError 404 if absent."""
        if id_property and id_property != "hs_object_id":
            record = self.find_unique(object_type, id_property, record_id)
        else:
            record_id = self.merged.get((object_type, str(record_id)), str(record_id))
            record = self.objects[object_type].get(record_id)
        if record is None or record.archived != archived:
            raise InputError(404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.",
                             {"id": [str(record_id)]})
        return record

    def find_unique(self, object_type: str, name: str, value: Any) -> StoredRecord | None:
        if name not in UNIQUE_PROPERTIES[object_type] and not self._is_unique(object_type, name):
            raise InputError(400, "VALIDATION_ERROR",
                             f"Unable to perform update/upsert by non-unique {SINGULAR[object_type]} property {name}")
        wanted = str(value).strip().lower()
        index = self._unique_index.get((object_type, name))
        if index is not None:
            # Every write goes through `_stamp`, which indexes unique values; an entry is
            # only a hint, so the record is checked to still hold the value.
            record = self.objects[object_type].get(index.get(wanted, ""))
            if record is not None and not record.archived and _folded(record.properties.get(name)) == wanted:
                return record
            return None
        for record in self.objects[object_type].values():
            if not record.archived and _folded(record.properties.get(name)) == wanted:
                return record
        return None

    def _is_unique(self, object_type: str, name: str) -> bool:
        prop = self.schema[object_type].get(name)
        return prop is not None and prop.unique

    def _holder_of_additional_email(self, value: Any) -> StoredRecord | None:
        wanted = _folded(value)
        holder_id = self._unique_index.get(("contacts", ADDITIONAL_EMAILS), {}).get(wanted or "")
        record = self.objects["contacts"].get(holder_id or "")
        if record is None or record.archived:
            return None
        extra = record.properties.get(ADDITIONAL_EMAILS) or ""
        return record if wanted in {_folded(part) for part in extra.split(";")} else None

    def _check_unique(self, object_type: str, values: Mapping[str, Any], own_id: str | None) -> None:
        """Raise InputError 409 when a unique value is taken by another record.

        A contact's email also collides with another contact's `hs_additional_emails`.
        NOTE: that HubSpot rejects such an email on create, and that upsert by email does
        not match additional emails, is assumed from its duplicate rules, not confirmed.
        """
        for name in UNIQUE_PROPERTIES[object_type]:
            value = values.get(name)
            if not value:
                continue
            existing = self.find_unique(object_type, name, value)
            if existing is None and object_type == "contacts":
                existing = self._holder_of_additional_email(value)
            if existing is None or existing.id == own_id:
                continue
            if object_type == "contacts":
                message = f"Contact already exists. Existing ID: {existing.id}"
            else:
                message = (f"A {SINGULAR[object_type]} with {name} {value!r} already exists. "
                           f"Existing ID: {existing.id}")
            raise InputError(409, "CONFLICT", message, {"id": [existing.id]})

    def create(self, object_type: str, properties: Mapping[str, Any], *, created_at: datetime | None = None,
               modified_at: datetime | None = None, seed: bool = False) -> StoredRecord:
        """Create a record; raise InputError 400 (invalid value) or 409 (duplicate unique value)."""
        values = self.normalize(object_type, properties, seed=seed)
        self._check_unique(object_type, values, None)
        now = self.clock()
        created = created_at or now
        record = StoredRecord(self._new_id(), {}, created, modified_at or now)
        record.properties.update(values)
        record.properties["createdate"] = format_time(created) if seed or "createdate" not in values \
            else values["createdate"]
        record_changes(record.history, values, record.updated_at, _source(seed))
        self._stamp(object_type, record, record.updated_at)
        self.objects[object_type][record.id] = record
        return record

    def update(self, object_type: str, record_id: str, properties: Mapping[str, Any], *,
               modified_at: datetime | None = None, seed: bool = False) -> StoredRecord:
        record = self.get(object_type, record_id)
        values = self.normalize(object_type, properties, seed=seed)
        self._check_unique(object_type, values, record.id)
        self._remember_indexed(record)
        record.properties.update(values)
        moment = modified_at or self.clock()
        record_changes(record.history, values, moment, _source(seed))
        self._stamp(object_type, record, moment)
        return record

    def _index_unique(self, object_type: str, record: StoredRecord) -> None:
        for name in UNIQUE_PROPERTIES[object_type]:
            value = _folded(record.properties.get(name))
            if value:
                self._unique_index.setdefault((object_type, name), {})[value] = record.id
        if object_type == "contacts":
            for part in (record.properties.get(ADDITIONAL_EMAILS) or "").split(";"):
                if _folded(part):
                    self._unique_index.setdefault((object_type, ADDITIONAL_EMAILS), {})[_folded(part)] = record.id

    def _remember_indexed(self, record: StoredRecord) -> None:
        """Keep what search sees of a record before it changes, while the change is indexed."""
        if not self.search_lag_seconds and record.indexed_at is None:
            return
        seen = self.searchable(record)
        record.indexed = None if seen is None else dict(seen)

    def _stamp(self, object_type: str, record: StoredRecord, modified: datetime) -> None:
        if self.search_lag_seconds or record.indexed_at is not None:
            record.indexed_at = self.clock() + timedelta(seconds=self.search_lag_seconds)
        self._index_unique(object_type, record)
        record.updated_at = modified
        record.properties["hs_object_id"] = record.id
        record.properties[MODIFIED_PROPERTY[object_type]] = format_time(modified)
        if object_type == "deals":
            won, closed = self._stage_outcome(record.properties)
            record.properties["hs_is_closed_won"] = "true" if won else "false"
            record.properties["hs_is_closed"] = "true" if closed else "false"
            # HubSpot stamps when a deal first enters each stage, as hs_date_entered_<stage id>.
            stage = record.properties.get("dealstage")
            if stage and not record.properties.get(f"hs_date_entered_{stage}"):
                record.properties[f"hs_date_entered_{stage}"] = format_time(modified)
        calculated = [name for name in record.properties if name in CALCULATED or name.startswith("hs_date_entered_")]
        record_changes(record.history, {name: record.properties[name] for name in calculated}, modified,
                       SourceType.CALCULATED)

    def _stage_outcome(self, properties: Mapping[str, Any]) -> tuple[bool, bool]:
        stage = self.find_stage(properties.get("pipeline") or "default", properties.get("dealstage"))
        if stage is None:
            return False, False
        closed = str(stage["metadata"].get("isClosed", "false")).lower() == "true"
        won = closed and float(stage["metadata"].get("probability", 0)) >= 1.0
        return won, closed

    def find_stage(self, pipeline_id: str, stage_id: Any) -> dict[str, Any] | None:
        for pipeline in self.pipelines:
            if pipeline["id"] != pipeline_id:
                continue
            for stage in pipeline["stages"]:
                if stage["id"] == stage_id:
                    return stage
        return None

    def normalize(self, object_type: str, properties: Mapping[str, Any], *, seed: bool = False) -> dict[str, str | None]:
        """Check property names and values and turn them into stored strings.

        Raises InputError 400 VALIDATION_ERROR naming the property, as HubSpot does for an
        unknown property, a read-only one (unless seeding) or a value of the wrong type.
        """
        values: dict[str, str | None] = {}
        for name, value in properties.items():
            prop = self.schema[object_type].get(name)
            if prop is None:
                raise _invalid(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
            if prop.read_only and not seed:
                raise _invalid(name, "READ_ONLY_VALUE", f'"{name}" is a read only property; its value cannot be set.')
            values[name] = self._stored_value(object_type, prop, value)
        return values

    def _stored_value(self, object_type: str, prop: PropertyDefinition, value: Any) -> str | None:
        if value is None or value == "":
            return "" if value == "" else None
        if isinstance(value, bool):
            return "true" if value else "false"
        text = str(value)
        if prop.type is PropertyType.NUMBER:
            try:
                number = Decimal(text)
            except InvalidOperation:
                raise _invalid(prop.name, "INVALID_DECIMAL", f"{text!r} is not a valid number for {prop.name}") from None
            return format(number.normalize(), "f") if number == number.to_integral() else text
        if prop.type in (PropertyType.DATETIME, PropertyType.DATE):
            try:
                moment = parse_time(text)
            except ValueError:
                raise _invalid(prop.name, "INVALID_DATE", f"{text!r} is not a valid date for {prop.name}") from None
            return format_time(moment) if prop.type is PropertyType.DATETIME else moment.date().isoformat()
        if prop.options and text not in prop.options:
            raise _invalid(prop.name, "INVALID_OPTION", f"{text!r} was not one of the allowed options: {prop.options}")
        return text

    def render(self, object_type: str, record: StoredRecord, properties: list[str] | None,
               *, all_properties: bool = False, associations: list[str] | None = None,
               history: list[str] | None = None) -> dict[str, Any]:
        """Render a record as SimplePublicObject JSON, with the requested properties and histories."""
        if all_properties:
            shown = dict(record.properties)
        else:
            names = list(properties) if properties else list(DEFAULT_SHOWN[object_type])
            names += ["hs_object_id", "createdate", MODIFIED_PROPERTY[object_type]]
            shown = {name: record.properties.get(name) for name in names}
        body: dict[str, Any] = {
            "id": record.id, "properties": shown, "createdAt": format_time(record.created_at),
            "updatedAt": format_time(record.updated_at), "archived": record.archived,
        }
        if record.archived:
            body["archivedAt"] = format_time(record.updated_at)
        if history:
            body["propertiesWithHistory"] = hubspot_history.render(record.history, history)
        if associations:
            body["associations"] = self._v3_associations(object_type, record.id, associations)
        return body

    def _v3_associations(self, object_type: str, record_id: str, targets: list[str]) -> dict[str, Any]:
        grouped: dict[str, Any] = {}
        for target in targets:
            to_type = PLURAL.get(target.lower(), target.lower())
            if to_type not in OBJECT_TYPES:
                continue
            rows = []
            for to_id, type_ids in sorted(self.links.get((object_type, record_id, to_type), {}).items()):
                for type_id in sorted(type_ids):
                    rows.append({"id": to_id, "type": ASSOCIATION_BY_ID[(object_type, to_type, type_id)].name})
            if rows:
                grouped[to_type] = {"results": rows}
        return grouped

    # -- persistence ------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        """Return the whole state as JSON-serialisable data."""
        with self.lock:
            return {
                "next_id": self._next_id,
                "records": {
                    object_type: [
                        {"id": item.id, "properties": item.properties, "createdAt": format_time(item.created_at),
                         "updatedAt": format_time(item.updated_at), "archived": item.archived,
                         "history": hubspot_history.to_json(item.history)}
                        for item in table.values()
                    ]
                    for object_type, table in self.objects.items()
                },
                "associations": [
                    [from_type, from_id, to_type, to_id, sorted(type_ids)]
                    for (from_type, from_id, to_type), targets in self.links.items()
                    for to_id, type_ids in targets.items()
                ],
                "merged": [[object_type, old_id, new_id] for (object_type, old_id), new_id in self.merged.items()],
                "owners": list(self.owner_table.values()),
                "pipelines": self.pipelines,
                "properties": {
                    object_type: [property_to_json(prop) for prop in props.values()]
                    for object_type, props in self.schema.items()
                },
            }

    def load(self, state: Mapping[str, Any]) -> None:
        """Replace the whole state with one that `dump()` returned."""
        with self.lock:
            self._next_id = int(state["next_id"])
            self.objects = {name: {} for name in OBJECT_TYPES}
            for object_type, items in state["records"].items():
                for item in items:
                    self.objects[object_type][item["id"]] = StoredRecord(
                        item["id"], dict(item["properties"]), parse_time(item["createdAt"]),
                        parse_time(item["updatedAt"]), bool(item["archived"]),
                        history=hubspot_history.from_json(item.get("history")))
            self._unique_index = {}
            for object_type, records in self.objects.items():
                for record in records.values():
                    self._index_unique(object_type, record)
            self.links = {}
            for from_type, from_id, to_type, to_id, type_ids in state["associations"]:
                self.links.setdefault((from_type, from_id, to_type), {})[to_id] = set(type_ids)
            self.merged = {(object_type, old_id): new_id for object_type, old_id, new_id in state.get("merged", [])}
            self.owner_table = {owner["id"]: dict(owner) for owner in state["owners"]}
            self.pipelines = list(state["pipelines"])
            self.schema = {
                object_type: {item["name"]: property_from_json(item) for item in props}
                for object_type, props in state["properties"].items()
            }


# Properties a list, read or search returns when the request names none.
DEFAULT_SHOWN = {
    "contacts": ("firstname", "lastname", "email"),
    "companies": ("name", "domain"),
    "deals": ("dealname", "amount", "closedate", "pipeline", "dealstage"),
}
PLURAL = {"contact": "contacts", "company": "companies", "deal": "deals"}
# A contact's other emails, ";"-separated; a merge moves the absorbed contact's email here.
ADDITIONAL_EMAILS = "hs_additional_emails"
# Properties that HubSpot sets itself on every write; their history entries are CALCULATED.
CALCULATED = frozenset({"hs_object_id", "createdate", "lastmodifieddate", "hs_lastmodifieddate",
                        "hs_is_closed_won", "hs_is_closed"})


def _merged_values(object_type: str, primary: StoredRecord, merged: StoredRecord) -> dict[str, str | None]:
    values = {name: value for name, value in merged.properties.items() if value not in (None, "")}
    values.update({name: value for name, value in primary.properties.items() if value not in (None, "")})
    absorbed = []
    for record in (primary, merged):
        absorbed += [part for part in (record.properties.get("hs_merged_object_ids") or "").split(";") if part]
        absorbed.append(record.id)
    values["hs_merged_object_ids"] = ";".join(dict.fromkeys(absorbed))
    if object_type == "contacts" and merged.properties.get("email"):
        extra = [part for part in (primary.properties.get("hs_additional_emails") or "").split(";") if part]
        values["hs_additional_emails"] = ";".join(dict.fromkeys([*extra, str(merged.properties["email"])]))
    return values


def _source(seed: bool) -> SourceType:
    """Return CRM_UI for a seeded write, which plays a person editing in HubSpot, else API."""
    return SourceType.CRM_UI if seed else SourceType.API


def _folded(value: Any) -> str | None:
    return value.strip().lower() if isinstance(value, str) else None


def _invalid(name: str, code: str, message: str) -> InputError:
    return InputError(400, "VALIDATION_ERROR", f"Property values were not valid: {message}",
                      {"propertyName": [name], "code": [code]})
