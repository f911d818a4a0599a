"""Turn Dataverse rows into `Record`s: values, etag, modified time, references and merges."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sync.model import DATAVERSE_PRIMARY_KEYS, Kind, Record, System

LOOKUP_NAME = "@Microsoft.Dynamics.CRM.lookuplogicalname"
# Lookup columns read for each kind, with the `_x_value` read names.
LOOKUP_COLUMNS: dict[Kind, list[str]] = {
    Kind.CONTACT: ["_parentcustomerid_value", "_ownerid_value"],
    Kind.COMPANY: ["_ownerid_value"],
    Kind.DEAL: ["_customerid_value", "_parentcontactid_value", "_ownerid_value"],
}
# Columns read for the Merge action's result: a merged subordinate has `merged` true and
# `masterid` naming the row it was merged into. Only contacts and accounts are merged.
MERGE_COLUMNS: dict[Kind, list[str]] = {
    Kind.CONTACT: ["merged", "_masterid_value"],
    Kind.COMPANY: ["merged", "_masterid_value"],
    Kind.DEAL: [],
}
# (lookup read name, target table logical name) -> the kind a reference points to.
REFERENCE_KINDS: dict[Kind, dict[tuple[str, str], Kind]] = {
    Kind.CONTACT: {("_parentcustomerid_value", "account"): Kind.COMPANY},
    Kind.COMPANY: {},
    Kind.DEAL: {
        ("_customerid_value", "account"): Kind.COMPANY,
        ("_customerid_value", "contact"): Kind.CONTACT,
        ("_parentcontactid_value", "contact"): Kind.CONTACT,
    },
}


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def record_from_row(kind: Kind, row: dict[str, Any]) -> Record:
    """Build a record from a row read with annotations.

    Values keep the columns, the `_x_value` lookups and their lookuplogicalname
    annotations; other annotations are dropped. A merged subordinate (deactivated, not
    deleted) gets `merged_into`, the id of the row it was merged into.
    """
    values = {name: value for name, value in row.items() if "@" not in name or name.endswith(LOOKUP_NAME)}
    return Record(
        system=System.DYNAMICS,
        kind=kind,
        id=row[DATAVERSE_PRIMARY_KEYS[kind]],
        values=values,
        modified_at=parse_time(row.get("modifiedon")),
        etag=row.get("@odata.etag"),
        refs=_refs(kind, row),
        merged_into=row.get("_masterid_value") if row.get("merged") else None,
    )


def _refs(kind: Kind, row: dict[str, Any]) -> dict[Kind, list[str]]:
    refs: dict[Kind, list[str]] = {}
    for (column, target), ref_kind in REFERENCE_KINDS[kind].items():
        value = row.get(column)
        if value and row.get(column + LOOKUP_NAME) == target and value not in refs.get(ref_kind, []):
            refs.setdefault(ref_kind, []).append(value)
    return refs
