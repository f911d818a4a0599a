"""Evaluate OData `$filter` and `$orderby` over sandbox rows.

`odata-query` parses the expression into an AST; this module compiles the AST into a
predicate over row dicts. Supported: eq ne gt ge lt le, and or not, contains, startswith,
endswith, null, strings, integers, decimals, booleans, dates, datetimes and GUIDs.
String comparisons ignore case, as Dataverse's default collation does. A comparison with a
null column is false, except `eq null` and `ne null`.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from odata_query import ast
from odata_query.exceptions import ODataException
from odata_query.grammar import ODataLexer, ODataParser

from sync.sandbox.dataverse_schema import Table

Row = dict[str, Any]
Predicate = Callable[[Row], bool]


class QueryError(ValueError):
    """A `$filter`, `$orderby` or `$select` the sandbox cannot run; answered with 400."""


_COMPARATORS: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Lt: operator.lt, ast.LtE: operator.le,
}
_STRING_FUNCTIONS: dict[str, Callable[[str, str], bool]] = {
    "contains": lambda value, part: part in value,
    "startswith": str.startswith,
    "endswith": str.endswith,
}


def parse_filter(text: str, table: Table) -> Predicate:
    """Compile `$filter` text into a predicate. Raises `QueryError` when it is invalid."""
    try:
        tree = ODataParser().parse(ODataLexer().tokenize(text))
    except ODataException as error:
        raise QueryError(f"Syntax error in $filter '{text}': {error}") from None
    if tree is None:
        raise QueryError(f"Syntax error in $filter '{text}'.")
    return _compile(tree, table)


def parse_orderby(text: str, table: Table) -> list[tuple[str, bool]]:
    """Parse `$orderby` into (column, descending) pairs. Raises `QueryError`."""
    order: list[tuple[str, bool]] = []
    for item in text.split(","):
        words = item.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise QueryError(f"Syntax error in $orderby '{text}': expected 'column [asc|desc]'.")
        _check_column(words[0], table)
        order.append((words[0], len(words) == 2 and words[1].lower() == "desc"))
    return order


def sort_rows(rows: list[Row], order: list[tuple[str, bool]], key: str) -> list[Row]:
    """Sort rows by `order`, nulls first, then by the primary key for a stable paging order."""
    ordered = sorted(rows, key=lambda row: str(row.get(key)))
    for column, descending in reversed(order):
        ordered.sort(key=lambda row, name=column: _sort_key(row.get(name)), reverse=descending)
    return ordered


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, str):
        return (1, value.lower())
    return (1, value)


def _check_column(name: str, table: Table) -> None:
    if table.column_by_read_name(name) is None:
        raise QueryError(f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{table.logical_name}'.")


def _compile(node: ast._Node, table: Table) -> Predicate:
    if isinstance(node, ast.BoolOp):
        left, right = _compile(node.left, table), _compile(node.right, table)
        if isinstance(node.op, ast.And):
            return lambda row: left(row) and right(row)
        return lambda row: left(row) or right(row)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        operand = _compile(node.operand, table)
        return lambda row: not operand(row)
    if isinstance(node, ast.Compare):
        return _compile_compare(node, table)
    if isinstance(node, ast.Call):
        return _compile_call(node, table)
    raise QueryError(f"The $filter expression '{type(node).__name__}' is not supported.")


def _compile_compare(node: ast.Compare, table: Table) -> Predicate:
    compare = _COMPARATORS.get(type(node.comparator))
    if compare is None:
        raise QueryError(f"The $filter operator '{type(node.comparator).__name__}' is not supported.")
    name, literal = _column_and_literal(node.left, node.right, table)
    if name != _name_of(node.left):
        compare = _flip(compare)
    value = _literal_value(literal)

    def predicate(row: Row) -> bool:
        cell = row.get(name)
        if cell is None or value is None:
            if compare in (operator.eq, operator.ne):
                return compare(cell, value)
            return False
        return compare(*_comparable(cell, value))

    return predicate


def _compile_call(node: ast.Call, table: Table) -> Predicate:
    function = _STRING_FUNCTIONS.get(node.func.name.lower())
    if function is None or len(node.args) != 2:
        raise QueryError(f"The $filter function '{node.func.name}' is not supported.")
    name, literal = _column_and_literal(node.args[0], node.args[1], table)
    part = _literal_value(literal)
    if not isinstance(part, str):
        raise QueryError(f"The function '{node.func.name}' takes a string literal.")

    def predicate(row: Row) -> bool:
        cell = row.get(name)
        return isinstance(cell, str) and function(cell.lower(), part.lower())

    return predicate


def _name_of(node: ast._Node) -> str | None:
    return node.name if isinstance(node, ast.Identifier) else None


def _column_and_literal(left: ast._Node, right: ast._Node, table: Table) -> tuple[str, ast._Node]:
    if isinstance(left, ast.Identifier) and isinstance(right, ast._Literal):
        column, literal = left, right
    elif isinstance(right, ast.Identifier) and isinstance(left, ast._Literal):
        column, literal = right, left
    else:
        raise QueryError("A $filter comparison must compare one column with one literal value.")
    _check_column(column.name, table)
    return column.name, literal


def _flip(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda a, b: compare(b, a)


def _literal_value(literal: ast._Node) -> Any:
    match literal:
        case ast.Null():
            return None
        case ast.Boolean(val=text):
            return text.lower() == "true"
        case ast.Integer(val=text):
            return int(text)
        case ast.Float(val=text):
            return float(text)
        case ast.String(val=text):
            return text
        case ast.GUID(val=text):
            return text.lower()
        case ast.Date(val=text):
            return date.fromisoformat(text)
        case ast.DateTime(val=text):
            return _parse_datetime(text)
    raise QueryError(f"The literal {literal!r} is not supported in $filter.")


def _parse_datetime(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@functools.singledispatch
def _coerce(value: Any, cell: Any) -> tuple[Any, Any]:
    if isinstance(cell, str) and isinstance(value, str):
        return cell.lower(), value.lower()
    if isinstance(cell, bool) or isinstance(value, bool):
        return cell, value
    return cell, value


@_coerce.register
def _(value: datetime, cell: Any) -> tuple[Any, Any]:
    if isinstance(cell, str):
        return _parse_datetime(cell if "T" in cell else cell + "T00:00:00Z"), value
    return cell, value


@_coerce.register
def _(value: date, cell: Any) -> tuple[Any, Any]:
    if isinstance(cell, str):
        return date.fromisoformat(cell[:10]), value
    return cell, value


def _comparable(cell: Any, value: Any) -> tuple[Any, Any]:
    """Bring a stored cell and a literal to one comparable type; mismatches raise QueryError."""
    cell, value = _coerce(value, cell)
    numbers = (int, float)
    if isinstance(cell, numbers) and isinstance(value, numbers):
        return cell, value
    if type(cell) is not type(value):
        raise QueryError(f"Cannot compare the value {cell!r} with the literal {value!r}.")
    return cell, value
