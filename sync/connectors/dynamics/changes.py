"""Cursors of Dataverse reads: a change-tracking deltaLink, or a `modifiedon` time.

A table with change tracking is read in full once with `Prefer: odata.track-changes`; the
last page carries an `@odata.deltaLink`, which becomes the cursor. Each later read sends
that link's `$deltatoken` and gets the rows created or updated since, the rows deleted
since (as `$deletedEntity` items) and a new deltaLink. A delta response longer than
`odata.maxpagesize` comes in pages like any query: every `@odata.nextLink` is followed,
and only the last page carries the new deltaLink. A table without change tracking
keeps a `modifiedon` time as its cursor, the form every cursor had before deltaLinks.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sync.connectors.dynamics.records import parse_time
from sync.model import Kind, Record, System

DELTA_TOKEN = "$deltatoken"
DELETED_ENTITY = "/$deletedEntity"


class CursorForm(enum.StrEnum):
    NONE = "none"
    MODIFIED_TIME = "modified_time"
    DELTA_LINK = "delta_link"


@dataclass(frozen=True)
class DeltaCursor:
    """The parts of a deltaLink a delta read needs: its `$select` and its token, still URL-encoded."""

    select: list[str]
    token_parameter: str


def cursor_form(cursor: str | None) -> CursorForm:
    """Tell which form a stored cursor has. Raises `ValueError` for a cursor of neither form."""
    if cursor is None:
        return CursorForm.NONE
    if f"{DELTA_TOKEN}=" in cursor:
        return CursorForm.DELTA_LINK
    parse_time(cursor)
    return CursorForm.MODIFIED_TIME


def parse_delta_link(link: str) -> DeltaCursor:
    """Split a deltaLink into its column list and its `$deltatoken=...` parameter, kept as sent."""
    query = urlsplit(link).query
    token = next(part for part in query.split("&") if part.startswith(f"{DELTA_TOKEN}="))
    select = parse_qs(query).get("$select", [""])[0]
    return DeltaCursor([name for name in select.split(",") if name], token)


def delta_path(entity_set: str, select: list[str], cursor: DeltaCursor) -> str:
    """Return the relative URL of a delta read.

    The token goes back exactly as the server sent it, because Dataverse tells clients not
    to change its links. The environment URL comes from the settings, not from the link.
    """
    return f"{entity_set}?$select={','.join(select)}&{cursor.token_parameter}"


def deleted_record(kind: Kind, item: dict[str, Any]) -> Record | None:
    """Return a deleted record for a `$deletedEntity` item of a delta response, else None."""
    marked = str(item.get("@odata.context", "")).endswith(DELETED_ENTITY)
    # Items without the context annotation still differ from rows: a row has an etag.
    if "id" not in item or not (marked or ("reason" in item and "@odata.etag" not in item)):
        return None
    return Record(system=System.DYNAMICS, kind=kind, id=item["id"], values={}, deleted=True)
