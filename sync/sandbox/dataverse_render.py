"""The read form of sandbox rows, their annotations, and table metadata.

Formatted values follow the en-US conventions of Dataverse: option labels, `$1,234.50`
for money, `Yes`/`No`, `6/30/2024` for dates and `6/30/2024 2:05 PM` for date-times.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sync.sandbox.dataverse_schema import (
    LOOKUP_TYPES,
    OPTION_TYPES,
    TABLES_BY_LOGICAL_NAME,
    AttributeType,
    Column,
    DateFormat,
    Table,
)
from sync.sandbox.dataverse_store import LOOKUPS, Annotations, Row, etag_of

FORMATTED = "@OData.Community.Display.V1.FormattedValue"
LOOKUP_NAME = "@Microsoft.Dynamics.CRM.lookuplogicalname"
NAVIGATION = "@Microsoft.Dynamics.CRM.associatednavigationproperty"

# Finds a row by table logical name and id, for lookup names and currency symbols.
RowFinder = Callable[[str, str], Row | None]


def render_row(table: Table, row: Row, select: list[str] | None, annotations: Annotations, find: RowFinder) -> Row:
    """Return the JSON a GET returns for `row`: etag, selected columns, annotations."""
    columns = _selected_columns(table, select)
    out: Row = {"@odata.etag": etag_of(row)}
    for column in columns:
        value = row.get(column.read_name)
        out[column.read_name] = value
        if value is None:
            continue
        if annotations.formatted:
            label = _formatted(column, value, row, find)
            if label is not None:
                out[column.read_name + FORMATTED] = label
        if annotations.lookup_names and column.type in LOOKUP_TYPES:
            target = row[LOOKUPS].get(column.read_name)
            out[column.read_name + LOOKUP_NAME] = target
            navigation = _navigation_name(table, column, target)
            if navigation:
                out[column.read_name + NAVIGATION] = navigation
    return out


def _selected_columns(table: Table, select: list[str] | None) -> list[Column]:
    if select is None:
        return [column for column in table.columns.values() if column.name != "overriddencreatedon"]
    names = [table.key, *select]
    if any(table.columns[name].type is AttributeType.MONEY for name in select if name in table.columns):
        names.append("_transactioncurrencyid_value")
    columns: list[Column] = []
    for name in dict.fromkeys(names):
        column = table.column_by_read_name(name)
        if column is not None:
            columns.append(column)
    return columns


def _navigation_name(table: Table, column: Column, target: str | None) -> str | None:
    for navigation in table.navigations.values():
        if navigation.column == column.name and navigation.target == target:
            return navigation.name
    return None


def _formatted(column: Column, value: Any, row: Row, find: RowFinder) -> str | None:
    if column.type in OPTION_TYPES:
        return column.options.get(value)
    if column.type is AttributeType.MONEY:
        currency = find("transactioncurrency", row.get("_transactioncurrencyid_value") or "")
        symbol = (currency or {}).get("currencysymbol") or "$"
        return f"{symbol}{value:,.2f}"
    if column.type is AttributeType.BOOLEAN:
        return "Yes" if value else "No"
    if column.type is AttributeType.INTEGER:
        return f"{value:,}"
    if column.type is AttributeType.DATETIME:
        return _formatted_time(column, value)
    if column.type in LOOKUP_TYPES:
        return _lookup_name(column, value, row, find)
    return None


def _formatted_time(column: Column, value: str) -> str:
    if column.date_format is DateFormat.DATE_ONLY:
        day = date.fromisoformat(value)
        return f"{day.month}/{day.day}/{day.year}"
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment.minute:02d} {suffix}"


def _lookup_name(column: Column, value: str, row: Row, find: RowFinder) -> str | None:
    target = row[LOOKUPS].get(column.read_name)
    if target is None:
        return None
    target_row = find(target, value)
    if target_row is None:
        return None
    return target_row.get(TABLES_BY_LOGICAL_NAME[target].primary_name)


def attributes_metadata(table: Table) -> list[dict[str, Any]]:
    """List the table's attributes as `EntityDefinitions(...)/Attributes` returns them."""
    attributes = []
    for column in table.columns.values():
        item: dict[str, Any] = {
            "@odata.type": f"#Microsoft.Dynamics.CRM.{column.type}AttributeMetadata",
            "LogicalName": column.name,
            "SchemaName": column.name,
            "AttributeType": str(column.type),
            "IsPrimaryId": column.name == table.key,
            "IsPrimaryName": column.name == table.primary_name,
            "IsValidForCreate": column.creatable,
            "IsValidForUpdate": column.updatable,
            "IsValidForRead": True,
        }
        if column.max_length:
            item["MaxLength"] = column.max_length
        if column.targets:
            item["Targets"] = list(column.targets)
        if column.date_format:
            item["Format"] = str(column.date_format)
        if column.type in OPTION_TYPES:
            item["OptionSet"] = {"Options": [_option(value, label) for value, label in column.options.items()]}
        attributes.append(item)
    return attributes


def _option(value: int, label: str) -> dict[str, Any]:
    localized = {"Label": label, "LanguageCode": 1033}
    return {"Value": value, "Label": {"LocalizedLabels": [localized], "UserLocalizedLabel": localized}}


def entity_metadata(table: Table) -> dict[str, Any]:
    return {
        "LogicalName": table.logical_name,
        "EntitySetName": table.entity_set,
        "PrimaryIdAttribute": table.key,
        "PrimaryNameAttribute": table.primary_name,
    }
