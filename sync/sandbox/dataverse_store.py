"""Rows of the Dataverse sandbox: validation of writes, versions and the read form.

Rows are kept keyed by the names the Web API reads them by (`_x_value` for lookups).
Two bookkeeping keys ride along: `$version` (the row version behind `@odata.etag`) and
`$lookups` (the target table of each lookup value). The whole state is plain JSON.
"""

from __future__ import annotations

import copy
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sync.sandbox.dataverse_schema import (
    LOOKUP_TYPES,
    MERGEABLE,
    OPTION_TYPES,
    STATUS_BY_STATE,
    TABLES,
    TABLES_BY_LOGICAL_NAME,
    AttributeType,
    Column,
    DateFormat,
    Table,
)

Row = dict[str, Any]
VERSION = "$version"
LOOKUPS = "$lookups"
BIND_SUFFIX = "@odata.bind"
BASE_CURRENCY_ID = "7e6b8a52-0c1a-4f1e-9a53-3c1d2b0a0001"
_BIND_TARGET = re.compile(r"(?:^|/)(?P<set>\w+)\((?P<id>[0-9a-fA-F-]{36})\)$")


class DataverseError(Exception):
    """A request the sandbox rejects, with the status and the OData error code and message."""

    def __init__(self, status: int, message: str, code: str = "0x80048d19") -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(message)


class WriteMode:
    """Who is writing: the Web API checks create/update validity, seeding does not."""

    API = "api"
    SEED = "seed"


@dataclass
class Annotations:
    formatted: bool = False
    lookup_names: bool = False


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def etag_of(row: Row) -> str:
    return f'W/"{row[VERSION]}"'


def normalise_id(text: str) -> str:
    """Return the GUID in lower case. Raises `DataverseError` 400 when it is not a GUID."""
    try:
        return str(uuid.UUID(text.strip("{}")))
    except ValueError:
        raise DataverseError(400, f"'{text}' is not a valid GUID.", "0x80040203") from None


class DataverseStore:
    """The tables of the sandbox behind one re-entrant lock."""

    def __init__(self, clock: Callable[[], datetime], allow_state_patch: bool = False) -> None:
        self.clock = clock
        self.allow_state_patch = allow_state_patch
        self.lock = threading.RLock()
        self.tables: dict[str, dict[str, Row]] = {name: {} for name in TABLES}
        self.version = 1000
        # Deletions, by entity set: (id, version at deletion), for change tracking.
        self.deleted: dict[str, list[tuple[str, int]]] = {name: [] for name in TABLES}
        # Rows as they were before the open change set touched them (None: not there).
        self._journal: dict[tuple[str, str], Row | None] | None = None
        self._journal_start: tuple[int, dict[str, int]] = (0, {})
        self.insert("transactioncurrencies", {
            "transactioncurrencyid": BASE_CURRENCY_ID, "currencyname": "US Dollar",
            "isocurrencycode": "USD", "currencysymbol": "$",
        }, WriteMode.SEED)

    def get(self, entity_set: str, row_id: str) -> Row | None:
        return self.tables[entity_set].get(row_id)

    def require(self, entity_set: str, row_id: str) -> Row:
        row = self.get(entity_set, row_id)
        if row is None:
            logical = TABLES[entity_set].logical_name
            raise DataverseError(404, f"{logical} With Id = {row_id} Does Not Exist", "0x80040217")
        return row

    def insert(self, entity_set: str, payload: dict[str, Any], mode: str, row_id: str | None = None) -> Row:
        """Create a row from a write payload; the id comes from `row_id`, the key column or a new GUID."""
        table = TABLES[entity_set]
        given = payload.get(table.key)
        row_id = normalise_id(row_id or given or str(uuid.uuid4()))
        if row_id in self.tables[entity_set]:
            raise DataverseError(412, "A record with matching key values already exists.", "0x80040237")

        changes = self._changes(table, payload, mode, creating=True)
        now = format_time(self.clock())
        row: Row = {column.read_name: None for column in table.columns.values()}
        row[LOOKUPS] = {}
        row.update({table.key: row_id, "createdon": now, "modifiedon": now})
        self._apply(table, row, changes)
        self._defaults(table, row)
        if row.get("overriddencreatedon"):
            row["createdon"] = row["overriddencreatedon"]
        self._remember(entity_set, row_id)
        self.tables[entity_set][row_id] = row
        return row

    def update(self, entity_set: str, row_id: str, payload: dict[str, Any], mode: str) -> Row:
        table = TABLES[entity_set]
        row = self.require(entity_set, row_id)
        changes = self._changes(table, payload, mode, creating=False)
        self._check_state_change(table, row, changes, mode)
        self._remember(entity_set, row_id)
        self._apply(table, row, changes)
        self._defaults(table, row)
        if mode == WriteMode.API or "modifiedon" not in changes:
            row["modifiedon"] = format_time(self.clock())
        return row

    def set_platform_columns(self, entity_set: str, row_id: str, values: Row,
                             lookups: dict[str, tuple[str, str]] | None = None) -> Row:
        """Write columns that only Dataverse itself writes, such as `merged` and `masterid`.

        `lookups` maps lookup read names (`_x_value`) to (target table logical name, id).
        Only the status is checked; the row version and `modifiedon` move on as for any write.
        """
        table = TABLES[entity_set]
        row = self.require(entity_set, row_id)
        changes: Row = {**values, LOOKUPS: {}}
        for read_name, (logical_name, target_id) in (lookups or {}).items():
            changes[read_name] = target_id
            changes[LOOKUPS][read_name] = logical_name
        self._remember(entity_set, row_id)
        self._apply(table, row, changes)
        row["modifiedon"] = format_time(self.clock())
        return row

    def delete(self, entity_set: str, row_id: str) -> None:
        self.require(entity_set, row_id)
        self._remember(entity_set, row_id)
        del self.tables[entity_set][row_id]
        self.version += 1
        self.deleted[entity_set].append((row_id, self.version))

    # A change set is atomic: `begin` starts a journal of the rows it touches, `rollback`
    # puts them back. Only touched rows are copied, so a change set costs what it writes.

    def begin(self) -> None:
        self._journal = {}
        self._journal_start = (self.version, {name: len(items) for name, items in self.deleted.items()})

    def commit(self) -> None:
        self._journal = None

    def rollback(self) -> None:
        journal, self._journal = self._journal or {}, None
        for (entity_set, row_id), saved in journal.items():
            if saved is None:
                self.tables[entity_set].pop(row_id, None)
            else:
                self.tables[entity_set][row_id] = saved
        self.version, lengths = self._journal_start
        for name, length in lengths.items():
            del self.deleted[name][length:]

    def _remember(self, entity_set: str, row_id: str) -> None:
        if self._journal is None or (entity_set, row_id) in self._journal:
            return
        row = self.tables[entity_set].get(row_id)
        self._journal[(entity_set, row_id)] = copy.deepcopy(row) if row is not None else None

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy({"tables": self.tables, "version": self.version, "deleted": self.deleted})

    def restore(self, state: dict[str, Any]) -> None:
        state = copy.deepcopy(state)
        self.tables = {name: state["tables"].get(name, {}) for name in TABLES}
        self.version = state["version"]
        self.deleted = {name: [tuple(item) for item in state.get("deleted", {}).get(name, [])] for name in TABLES}

    def _changes(self, table: Table, payload: dict[str, Any], mode: str, creating: bool) -> Row:
        changes: Row = {}
        lookups: dict[str, str | None] = {}
        for name, value in payload.items():
            if name.endswith(BIND_SUFFIX):
                read_name, target = self._bind(table, name[: -len(BIND_SUFFIX)], value)
                changes[read_name] = None if target is None else target[1]
                lookups[read_name] = None if target is None else target[0]
            elif "@" in name or name.startswith("$"):
                continue
            else:
                column = self._column_for_write(table, name, mode, creating)
                changes[column.read_name] = _convert(table, column, value)
        changes[LOOKUPS] = lookups
        return changes

    def _column_for_write(self, table: Table, name: str, mode: str, creating: bool) -> Column:
        column = table.columns.get(name)
        if column is None and mode == WriteMode.SEED:
            column = table.column_by_read_name(name)
        if column is None:
            raise DataverseError(400, (
                f"The property '{name}' does not exist on type 'Microsoft.Dynamics.CRM.{table.logical_name}'. "
                "Make sure to only use property names that are defined by the type."
            ), "0x80060888")
        if column.type in LOOKUP_TYPES and mode == WriteMode.API:
            raise DataverseError(400, (
                f"CRM do not support direct update of Entity Reference properties, Use Navigation properties "
                f"instead: write '{column.name}' with '<navigation property>@odata.bind'."
            ), "0x80060888")
        if mode == WriteMode.API and not (column.creatable if creating else column.updatable):
            action = "create" if creating else "update"
            message = f"The column '{name}' of table '{table.logical_name}' is not valid for {action}."
            if table.logical_name == "opportunity" and name == "statecode":
                message += " Create the opportunity open, then call WinOpportunity or LoseOpportunity to close it."
            raise DataverseError(400, message)
        return column

    def _bind(self, table: Table, navigation_name: str, value: Any) -> tuple[str, tuple[str, str] | None]:
        navigation = table.navigations.get(navigation_name)
        if navigation is None:
            raise DataverseError(400, (
                f"An undeclared property '{navigation_name}' which only has property annotations in the payload "
                f"but no property value was found in the payload. Navigation property names are case-sensitive; "
                f"'{table.logical_name}' has: {', '.join(sorted(table.navigations))}."
            ), "0x80060888")
        read_name = table.columns[navigation.column].read_name
        if value is None:
            return read_name, None

        target_table = TABLES_BY_LOGICAL_NAME[navigation.target]
        match = _BIND_TARGET.search(str(value))
        if match is None or match.group("set") != target_table.entity_set:
            raise DataverseError(400, (
                f"Invalid value '{value}' for '{navigation_name}@odata.bind': expected '/{target_table.entity_set}(<guid>)'."
            ))
        target_id = normalise_id(match.group("id"))
        if target_id not in self.tables[target_table.entity_set]:
            raise DataverseError(404, f"{target_table.logical_name} With Id = {target_id} Does Not Exist", "0x80040217")
        return read_name, (target_table.logical_name, target_id)

    def _check_state_change(self, table: Table, row: Row, changes: Row, mode: str) -> None:
        if table.logical_name != "opportunity" or mode == WriteMode.SEED:
            return
        edited = {name for name in changes if name != LOOKUPS} | set(changes[LOOKUPS])
        if row["statecode"] in (1, 2) and edited - {"statecode", "statuscode"}:
            raise DataverseError(400, (
                f"The opportunity {row['opportunityid']} is closed and cannot be edited. "
                "Reopen it first with a PATCH of statecode 0 and statuscode 1."
            ), "0x80040203")
        if changes.get("statecode") in (1, 2) and not self.allow_state_patch:
            raise DataverseError(400, (
                "An opportunity cannot be closed by setting statecode; call the WinOpportunity or LoseOpportunity action."
            ), "0x80040203")

    def _apply(self, table: Table, row: Row, changes: Row) -> None:
        # Validate on a copy, so a rejected status leaves the stored row unchanged.
        lookups = changes.pop(LOOKUPS, {})
        updated = {**row, **changes, LOOKUPS: dict(row[LOOKUPS])}
        for read_name, target in lookups.items():
            if target is None:
                updated[LOOKUPS].pop(read_name, None)
            else:
                updated[LOOKUPS][read_name] = target
        self._settle_status(table, updated, row.get("statecode"), "statuscode" in changes)
        self.version += 1
        updated[VERSION] = self.version
        row.clear()
        row.update(updated)

    def _settle_status(self, table: Table, row: Row, state_before: Any, status_given: bool) -> None:
        statuses = STATUS_BY_STATE.get(table.logical_name)
        if statuses is None:
            return
        state = row.get("statecode")
        state = 0 if state is None else state
        row["statecode"] = state
        if row.get("statuscode") is None or (state != state_before and not status_given):
            row["statuscode"] = statuses[state][0]
        if row["statuscode"] not in statuses[state]:
            raise DataverseError(400, (
                f"{row['statuscode']} is not a valid status code for state code {table.logical_name}State.{state}; "
                f"use one of {list(statuses[state])}."
            ), "0x80040203")

    def _defaults(self, table: Table, row: Row) -> None:
        if table.logical_name in MERGEABLE and row.get("merged") is None:
            row["merged"] = False
        if table.logical_name == "contact" or (table.logical_name == "systemuser" and not row.get("fullname")):
            names = [row.get("firstname"), row.get("lastname")]
            row["fullname"] = " ".join(part for part in names if part) or None
        money = [c for c in table.columns.values() if c.type is AttributeType.MONEY and row.get(c.name) is not None]
        if money and row.get("_transactioncurrencyid_value") is None:
            row["_transactioncurrencyid_value"] = BASE_CURRENCY_ID
            row[LOOKUPS]["_transactioncurrencyid_value"] = "transactioncurrency"


def _convert(table: Table, column: Column, value: Any) -> Any:
    """Check a written value against its column type; return the stored form."""
    if value is None:
        return None
    converter = _CONVERTERS.get(column.type)
    try:
        stored = converter(column, value) if converter else value
    except (TypeError, ValueError):
        raise DataverseError(400, (
            f"Cannot convert the literal '{value}' to the expected type of column '{column.name}' "
            f"({column.type}) on table '{table.logical_name}'."
        )) from None
    if column.max_length and isinstance(stored, str) and len(stored) > column.max_length:
        raise DataverseError(400, (
            f"A validation error occurred. The length of the '{column.name}' attribute of the '{table.logical_name}' "
            f"entity exceeded the maximum allowed length of '{column.max_length}'."
        ), "0x80044331")
    return stored


def _text(column: Column, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _integer(column: Column, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(value)
    return value


def _number(column: Column, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(value)
    return float(value)


def _boolean(column: Column, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(value)
    return value


def _option(column: Column, value: Any) -> int:
    number = _integer(column, value)
    if column.options and number not in column.options:
        raise ValueError(value)
    return number


def _datetime(column: Column, value: Any) -> str:
    text = _text(column, value)
    if column.date_format is DateFormat.DATE_ONLY:
        return date.fromisoformat(text[:10]).isoformat()
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return format_time(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _guid(column: Column, value: Any) -> str:
    return str(uuid.UUID(_text(column, value)))


_CONVERTERS: dict[AttributeType, Callable[[Column, Any], Any]] = {
    AttributeType.STRING: _text, AttributeType.MEMO: _text,
    AttributeType.INTEGER: _integer, AttributeType.DECIMAL: _number, AttributeType.MONEY: _number,
    AttributeType.BOOLEAN: _boolean, AttributeType.DATETIME: _datetime,
    AttributeType.UNIQUEIDENTIFIER: _guid,
    **{kind: _option for kind in OPTION_TYPES},
    **{kind: _guid for kind in LOOKUP_TYPES},
}
