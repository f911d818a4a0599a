"""The Merge action of the Dataverse sandbox, for contacts and accounts.

`POST /Merge` takes `Target` and `Subordinate` (each with `@odata.type` and its key),
`UpdateContent` (optional: columns to set on the target) and `PerformParentingChecks`,
and returns 204, as Microsoft's page "Merge table rows using the Web API" describes it.
The target gets the `UpdateContent` columns. The subordinate is deactivated (statecode
1, statuscode 2), its `merged` column becomes true and its `masterid` lookup names the
target. Every lookup in any table that pointed at the subordinate then points at the
target: the contacts of a merged account, the opportunities of a merged customer.

NOTE: the error codes and messages of rejected merges are the sandbox's own; no source
read for this project gives Dataverse's. Microsoft's page also states that useful data of
the subordinate moves to the target without overwriting it. Which columns Dataverse
fills by itself is not confirmed, so the sandbox sets only `UpdateContent`, where the
merge dialog sends the values a person chose.
"""

from __future__ import annotations

from typing import Any

from sync.sandbox.dataverse_schema import MERGEABLE, TABLES_BY_LOGICAL_NAME, Table
from sync.sandbox.dataverse_store import LOOKUPS, DataverseError, DataverseStore, WriteMode, normalise_id

TYPE_PREFIX = "Microsoft.Dynamics.CRM."
# The parent lookup that PerformParentingChecks compares, by table. The sandbox's
# accounts have no parent account column, so their check always passes.
PARENT_COLUMNS = {"contact": "_parentcustomerid_value", "account": "_parentaccountid_value"}
MASTER_COLUMN = "_masterid_value"


def merge(store: DataverseStore, payload: dict[str, Any]) -> None:
    """Merge the subordinate row into the target row. Raises `DataverseError` for an invalid request."""
    table, target_id = _entity(payload, "Target")
    subordinate_table, subordinate_id = _entity(payload, "Subordinate")
    if subordinate_table is not table:
        raise DataverseError(400, (
            f"The Target is a {table.logical_name} and the Subordinate a {subordinate_table.logical_name}; "
            "only rows of one table can be merged."
        ))
    if subordinate_id == target_id:
        raise DataverseError(400, f"The Target and the Subordinate are the same {table.logical_name} {target_id}.")
    checks = payload.get("PerformParentingChecks")
    if not isinstance(checks, bool):
        raise DataverseError(400, "The parameter 'PerformParentingChecks' is missing or not a Boolean.")

    target = store.require(table.entity_set, target_id)
    subordinate = store.require(table.entity_set, subordinate_id)
    for role, row in (("Target", target), ("Subordinate", subordinate)):
        if row.get("statecode") != 0:
            raise DataverseError(400, f"The {role} {table.logical_name} {row[table.key]} is inactive; only active "
                                      "rows can be merged.", "0x80040203")
    if checks:
        _check_parents(table, target, subordinate)

    # The update is checked first, so a rejected column leaves every row as it was.
    update = _update_content(payload, table)
    if update:
        store.update(table.entity_set, target_id, update, WriteMode.API)
    store.set_platform_columns(table.entity_set, subordinate_id, {"statecode": 1, "statuscode": 2, "merged": True},
                               {MASTER_COLUMN: (table.logical_name, target_id)})
    _reparent(store, table, subordinate_id, target_id)


def _entity(payload: dict[str, Any], name: str) -> tuple[Table, str]:
    entity = payload.get(name)
    if not isinstance(entity, dict):
        raise DataverseError(400, f"The parameter '{name}' is missing or not an object.")
    logical_name = str(entity.get("@odata.type", "")).removeprefix("#").removeprefix(TYPE_PREFIX)
    if not logical_name:
        raise DataverseError(400, f"The parameter '{name}' needs an '@odata.type' annotation, such as "
                                  f"'{TYPE_PREFIX}contact'.")
    if logical_name not in MERGEABLE:
        raise DataverseError(400, f"The Merge action does not support the table '{logical_name}'; the sandbox "
                                  f"merges {' and '.join(sorted(MERGEABLE))} rows.")
    table = TABLES_BY_LOGICAL_NAME[logical_name]
    if not entity.get(table.key):
        raise DataverseError(400, f"The parameter '{name}' needs the key '{table.key}'.")
    return table, normalise_id(str(entity[table.key]))


def _check_parents(table: Table, target: dict[str, Any], subordinate: dict[str, Any]) -> None:
    """Reject the merge when both rows have a parent and the parents differ.

    NOTE: whether Dataverse also rejects a merge where only one row has a parent is not confirmed.
    """
    column = PARENT_COLUMNS[table.logical_name]
    parents = (target.get(column), subordinate.get(column))
    if all(parents) and parents[0] != parents[1]:
        raise DataverseError(400, (
            f"The Target and the Subordinate have different parents ({parents[0]} and {parents[1]}); merge with "
            "PerformParentingChecks false to keep the Target's parent."
        ), "0x80040203")


def _update_content(payload: dict[str, Any], table: Table) -> dict[str, Any]:
    content = payload.get("UpdateContent")
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise DataverseError(400, "The parameter 'UpdateContent' is not an object.")
    logical_name = str(content.get("@odata.type", TYPE_PREFIX + table.logical_name)).removeprefix("#")
    if logical_name.removeprefix(TYPE_PREFIX) != table.logical_name:
        raise DataverseError(400, f"UpdateContent must have the type of the Target, {TYPE_PREFIX}{table.logical_name}.")
    return {name: value for name, value in content.items() if name != table.key}


def _reparent(store: DataverseStore, table: Table, subordinate_id: str, target_id: str) -> None:
    """Point every lookup that names the subordinate at the target; `masterid` lookups keep their value."""
    for entity_set, rows in store.tables.items():
        for row_id, row in list(rows.items()):
            if entity_set == table.entity_set and row_id in (subordinate_id, target_id):
                continue
            moved = {
                read_name: (logical_name, target_id)
                for read_name, logical_name in row[LOOKUPS].items()
                if logical_name == table.logical_name and row.get(read_name) == subordinate_id
                and read_name != MASTER_COLUMN
            }
            if moved:
                store.set_platform_columns(entity_set, row_id, {}, moved)
