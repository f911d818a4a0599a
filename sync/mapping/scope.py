"""Scope filters: which records of a kind a pair syncs, judged on each system's raw values.

A side's scope is a list of conditions that must all hold. Each condition compares one raw
property or column with a value:

- eq, ne: equal or not, after `value_key` (so 1, 1.0 and "1" are equal).
- in, not_in: the value is one of a list, or none of it.
- gte, lte: the value stands at or after (at or before) `value` in the ordered list
  `order`, such as HubSpot lifecycle stages. A value missing from `order` never matches.
- exists: the field holds a non-empty value (`value: true`, the default) or not (`false`).

A missing or empty raw value matches only `ne`, `not_in` and `exists: false`.
"""

from __future__ import annotations

from collections.abc import Mapping as ReadOnlyDict
from dataclasses import dataclass
from typing import Any

from sync.mapping.terms import Operator
from sync.mapping.values import value_key


@dataclass(frozen=True)
class Condition:
    """One comparison of a scope: `field` `operator` `value`, with `order` for gte and lte."""

    field: str
    operator: Operator
    value: Any = True
    order: tuple[str, ...] = ()
    line: int | None = None

    def matches(self, values: ReadOnlyDict[str, Any]) -> bool:
        """Return whether the raw `values` of one record satisfy this condition."""
        raw = values.get(self.field)
        present = raw is not None and value_key(raw) != ""
        if self.operator is Operator.EXISTS:
            return present is bool(self.value)
        if not present:
            return self.operator in (Operator.NE, Operator.NOT_IN)

        key = value_key(raw)
        if self.operator in (Operator.GTE, Operator.LTE):
            return self._compare_order(key)
        wanted = [value_key(item) for item in self.value] if isinstance(self.value, tuple) else [value_key(self.value)]
        inside = key in wanted
        return inside if self.operator in (Operator.EQ, Operator.IN) else not inside

    def _compare_order(self, key: str) -> bool:
        order = [value_key(item) for item in self.order]
        if key not in order:
            return False
        position, threshold = order.index(key), order.index(value_key(self.value))
        return position >= threshold if self.operator is Operator.GTE else position <= threshold

    def describe(self) -> str:
        """Render the condition for the plan, such as `lifecyclestage gte lead`."""
        if self.operator is Operator.EXISTS:
            return f"{self.field} exists" if self.value else f"{self.field} is empty"
        shown = ", ".join(str(item) for item in self.value) if isinstance(self.value, tuple) else str(self.value)
        return f"{self.field} {self.operator} {shown}"


def all_match(conditions: tuple[Condition, ...], values: ReadOnlyDict[str, Any]) -> bool:
    """Return whether every condition holds; an empty scope matches every record."""
    return all(condition.matches(values) for condition in conditions)
