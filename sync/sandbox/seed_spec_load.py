"""Load the rows of a seed spec into the HubSpot and Dataverse sandboxes.

Each row becomes one record, owner or system user. A row can fail to load because a value
does not parse, a value is missing from a `values` map, a reference finds no record, or the
sandbox rejects the write. Such a row is counted and reported with its reason, and the
other rows still load.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import structlog

from sync.model import System
from sync.sandbox.dataverse import DataverseSandbox
from sync.sandbox.dataverse_schema import OPTION_TYPES, TABLES
from sync.sandbox.dataverse_store import DataverseError
from sync.sandbox.hubspot import HubSpotSandbox, InputError
from sync.sandbox.seed_spec import DATAVERSE_ENTITY_SETS, HUBSPOT_OBJECT_TYPES, Reference, SeedKind, Source
from sync.sandbox.seed_spec_rows import CsvRow, RejectedRow, SourceRows, SpecSeedReport
from sync.sandbox.seed_spec_values import dataverse_value, hubspot_value, option_value

log = structlog.get_logger(__name__)

# HubSpot association type ids for a reference, by (from kind, to kind); primary where HubSpot has one.
HUBSPOT_ASSOCIATIONS = {
    (SeedKind.CONTACT, SeedKind.COMPANY): 1,
    (SeedKind.DEAL, SeedKind.COMPANY): 5,
    (SeedKind.DEAL, SeedKind.CONTACT): 3,
}
# Dataverse navigation property for a reference, by (from kind, to kind).
DATAVERSE_NAVIGATIONS = {
    (SeedKind.CONTACT, SeedKind.COMPANY): "parentcustomerid_account",
    (SeedKind.DEAL, SeedKind.COMPANY): "customerid_account",
    (SeedKind.DEAL, SeedKind.CONTACT): "parentcontactid",
    (SeedKind.COMPANY, SeedKind.USER): "ownerid",
    (SeedKind.CONTACT, SeedKind.USER): "ownerid",
    (SeedKind.DEAL, SeedKind.USER): "ownerid",
}


class RowRejected(Exception):
    """A row cannot be loaded; carries the column, value and reason for the report."""

    def __init__(self, reason: str, column: str | None = None, value: str | None = None):
        self.reason = reason
        self.column = column
        self.value = value
        super().__init__(reason)


def seed_from_spec(hubspot: HubSpotSandbox, dataverse: DataverseSandbox, tables: list[SourceRows]) -> SpecSeedReport:
    """Load the sources in the given order and return the counts and the rejected rows."""
    report = SpecSeedReport()
    loader = SpecLoader(hubspot, dataverse)
    for rows in tables:
        report.start(rows)
        loader.load(rows, report)
        counts = report.files[rows.label]
        log.info("sandbox.seed.file_loaded", file=rows.label, read=counts.read, loaded=counts.loaded,
                 rejected=counts.rejected)
    return report


class SpecLoader:
    """Writes rows into both sandboxes, resolving references against what is already there."""

    def __init__(self, hubspot: HubSpotSandbox, dataverse: DataverseSandbox):
        self.hubspot = hubspot
        self.dataverse = dataverse

    def load(self, rows: SourceRows, report: SpecSeedReport) -> None:
        source = rows.source
        self._define_custom_properties(source)
        indexes = {reference.column: self._index(source.system, reference) for reference in source.references}
        for row in rows.rows:
            try:
                self._load_row(source, rows.skipped, indexes, row)
            except RowRejected as rejected:
                report.reject(rows.label, RejectedRow(source.name, row.line, rejected.reason, rejected.column,
                                                      rejected.value))
                continue
            report.count_loaded(rows.label)

    def _load_row(self, source: Source, skipped: dict[int, str], indexes: dict[str, dict[str, list[str]]],
                  row: CsvRow) -> None:
        if row.line in skipped:
            raise RowRejected(skipped[row.line], source.key, row.values.get(source.key or "", ""))
        if row.extra_fields:
            state = "more" if row.extra_fields > 0 else "fewer"
            raise RowRejected(f"the row has {abs(row.extra_fields)} {state} fields than the header; check its quoting")

        values = self._values(source, row)
        targets = {reference: _resolve(reference, indexes[reference.column], row) for reference in source.references}
        try:
            self._write(source, values, {ref: target for ref, target in targets.items() if target is not None})
        except (InputError, DataverseError) as error:
            raise RowRejected(f"the {source.system.label} sandbox rejected the row: {error}") from None

    # -- values ------------------------------------------------------------------------

    def _values(self, source: Source, row: CsvRow) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for column, fields in source.columns.items():
            text = row.values[column]
            for name in fields:
                try:
                    value = self._value(source, name, text)
                except ValueError as error:
                    raise RowRejected(f"{name}: {error}", column, text) from None
                if value is not None:
                    values[name] = value
        return values

    def _value(self, source: Source, name: str, text: str) -> Any:
        """Convert one CSV value for field `name`; None leaves the field empty."""
        table = source.values.get(name)
        if table is not None:
            return _mapped(table, name, text, self._option_column(source, name))
        if not text:
            return None
        if source.system is System.DYNAMICS:
            column = TABLES[DATAVERSE_ENTITY_SETS[source.kind]].columns[name]
            return dataverse_value(column, text, source.date_format, source.number_format)
        if source.kind is SeedKind.USER:
            return text
        object_type = HUBSPOT_OBJECT_TYPES[source.kind]
        value = hubspot_value(self.hubspot.schema[object_type].get(name), text, source.date_format, source.number_format)
        return self._deal_stage(value) if object_type == "deals" and name == "dealstage" else value

    def _option_column(self, source: Source, name: str) -> Any:
        if source.system is not System.DYNAMICS:
            return None
        column = TABLES[DATAVERSE_ENTITY_SETS[source.kind]].columns[name]
        return column if column.type in OPTION_TYPES else None

    def _deal_stage(self, text: str) -> str:
        # NOTE: stages are checked against the default pipeline only; a `pipeline` column is not consulted.
        stage = self.hubspot.find_stage("default", text)
        if stage is not None:
            return text
        for pipeline in self.hubspot.pipelines:
            for stage in pipeline["stages"]:
                if stage["label"].lower() == text.lower():
                    return stage["id"]
        raise ValueError("not a stage id or label of the HubSpot deal pipeline; map it under `values`")

    def _define_custom_properties(self, source: Source) -> None:
        if source.kind is SeedKind.USER:
            return
        if source.system is System.DYNAMICS:
            for name in source.columns_filled():
                if name not in TABLES[DATAVERSE_ENTITY_SETS[source.kind]].columns:
                    self.dataverse.define_column(DATAVERSE_ENTITY_SETS[source.kind], name, str(source.types.get(name, "string")))
            return
        object_type = HUBSPOT_OBJECT_TYPES[source.kind]
        for name, property_type in source.types.items():
            if name not in self.hubspot.schema[object_type]:
                self.hubspot.define_property(object_type, name, str(property_type))

    # -- references --------------------------------------------------------------------

    def _index(self, system: System, reference: Reference) -> dict[str, list[str]]:
        """Map each folded value of the target field to the ids of the records that have it."""
        index: dict[str, list[str]] = defaultdict(list)
        for record_id, value in self._target_values(system, reference):
            if value not in (None, ""):
                index[str(value).strip().lower()].append(record_id)
        return index

    def _target_values(self, system: System, reference: Reference) -> list[tuple[str, Any]]:
        if system is System.DYNAMICS:
            entity_set = DATAVERSE_ENTITY_SETS[reference.kind]
            key = TABLES[entity_set].key
            return [(row[key], row.get(reference.field)) for row in self.dataverse.rows(entity_set)]
        if reference.kind is SeedKind.USER:
            with self.hubspot.lock:
                owners = list(self.hubspot.owner_table.values())
            return [(owner["id"], _owner_field(owner, reference.field)) for owner in owners]
        records = self.hubspot.records(HUBSPOT_OBJECT_TYPES[reference.kind])
        return [(record["id"], record["properties"].get(reference.field)) for record in records]

    # -- writes ------------------------------------------------------------------------

    def _write(self, source: Source, values: dict[str, Any], targets: dict[Reference, str]) -> None:
        if source.system is System.DYNAMICS:
            self._write_dataverse(source, values, targets)
        elif source.kind is SeedKind.USER:
            self._write_owner(values)
        else:
            self._write_hubspot(source, values, targets)

    def _write_dataverse(self, source: Source, values: dict[str, Any], targets: dict[Reference, str]) -> None:
        for reference, target_id in targets.items():
            navigation = DATAVERSE_NAVIGATIONS[(source.kind, reference.kind)]
            target_set = DATAVERSE_ENTITY_SETS[reference.kind]
            values[f"{navigation}@odata.bind"] = f"/{target_set}({target_id})"
        self.dataverse.add_row(DATAVERSE_ENTITY_SETS[source.kind], values)

    def _write_owner(self, values: dict[str, Any]) -> None:
        email = values.get("email")
        if not email:
            raise RowRejected("a HubSpot owner needs an email; the `email` field is empty")
        self.hubspot.add_owner(str(email), str(values.get("firstName") or ""), str(values.get("lastName") or ""))

    def _write_hubspot(self, source: Source, values: dict[str, Any], targets: dict[Reference, str]) -> None:
        object_type = HUBSPOT_OBJECT_TYPES[source.kind]
        owners = [target for reference, target in targets.items() if reference.kind is SeedKind.USER]
        if owners:
            values["hubspot_owner_id"] = owners[0]
        with self.hubspot.lock:
            record_id = self.hubspot.add_record(object_type, values)
            for reference, target_id in targets.items():
                if reference.kind is SeedKind.USER:
                    continue
                type_id = HUBSPOT_ASSOCIATIONS[(source.kind, reference.kind)]
                self.hubspot.associate(object_type, record_id, HUBSPOT_OBJECT_TYPES[reference.kind], target_id, type_id)


def _mapped(table: dict[str, Any], name: str, text: str, option_column: Any) -> Any:
    """Look `text` up in a `values` map: exact first, then ignoring case. Empty text not in the map is empty."""
    if text in table:
        value = table[text]
    else:
        folded = {key.lower(): stored for key, stored in table.items()}
        if text.lower() not in folded:
            if not text:
                return None
            known = ", ".join(repr(key) for key in table)
            raise ValueError(f"not in values.{name} (known: {known})")
        value = folded[text.lower()]
    if option_column is not None and isinstance(value, str):
        return option_value(option_column, value)
    return value


def _resolve(reference: Reference, index: dict[str, list[str]], row: CsvRow) -> str | None:
    text = row.values[reference.column]
    if not text:
        return None
    ids = index.get(text.lower(), [])
    if not ids:
        raise RowRejected(f"no {reference.kind} with {reference.field} {text!r} in the sandbox", reference.column, text)
    if len(ids) > 1:
        raise RowRejected(f"{len(ids)} {reference.kind} records have {reference.field} {text!r}; the reference is "
                          "ambiguous", reference.column, text)
    return ids[0]


def _owner_field(owner: dict[str, Any], name: str) -> Any:
    if name == "name":
        return " ".join(part for part in (owner.get("firstName"), owner.get("lastName")) if part)
    return owner.get(name)
