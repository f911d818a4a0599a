"""Reading a pair's `scope`: per system, one condition or a list of conditions that must all hold."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sync.mapping.reading import MISSING, Reader, describe
from sync.mapping.scope import Condition
from sync.mapping.terms import Operator
from sync.mapping.values import value_key
from sync.model import System
from sync.yamlfile import plain

CONDITION_KEYS = ("field", "op", "value", "order")
PathParts = Sequence[str | int]
_LIST_OPERATORS = (Operator.IN, Operator.NOT_IN)
_ORDER_OPERATORS = (Operator.GTE, Operator.LTE)
_EXAMPLE = "{field: lifecyclestage, op: in, value: [lead, customer]}"


class ScopeReader(Reader):
    """Builds a pair's scope conditions; a condition with any problem is reported and left out."""

    def scope(self, value: Any, path: PathParts) -> dict[System, tuple[Condition, ...]]:
        if value is MISSING or value is None:
            return {}
        if self.map_at(value, path, "a map with `hubspot` and/or `dynamics` conditions") is None:
            return {}
        self.check_keys(value, path, [system.value for system in System])
        found: dict[System, tuple[Condition, ...]] = {}
        for system in System:
            conditions = value.get(system.value, MISSING)
            if conditions is MISSING:
                continue
            items = conditions if isinstance(conditions, list) else [conditions]
            read = [self.condition(item, (*path, system.value, index) if isinstance(conditions, list) else (*path, system.value))
                    for index, item in enumerate(items)]
            found[system] = tuple(item for item in read if item is not None)
        return found

    def condition(self, item: Any, path: PathParts) -> Condition | None:
        item = self.map_at(item, path, f"a condition such as {_EXAMPLE}")
        if item is None:
            return None
        before = len(self.problems)
        self.check_keys(item, path, CONDITION_KEYS)
        name = self.name(item, "field", path, "property or column")
        operator = self.operator(item, path)
        if operator is None:
            return None
        order = self.order(item, path, operator)
        value = self.condition_value(item, path, operator, order)
        if len(self.problems) > before:
            return None
        return Condition(field=name, operator=operator, value=value, order=order or (), line=self.problems.locate(path).line)

    def operator(self, item: dict, path: PathParts) -> Operator | None:
        if "op" not in item:
            self.problems.add(path, "missing `op`: the comparison of this condition",
                              fix="add `op:` with one of " + ", ".join(member.value for member in Operator))
            return None
        return self.choice(item, "op", path, Operator, Operator.EQ)

    def order(self, item: dict, path: PathParts, operator: Operator) -> tuple[str, ...] | None:
        value = item.get("order", MISSING)
        if operator not in _ORDER_OPERATORS:
            if value is not MISSING:
                self.problems.add((*path, "order"), f"`order` is only for gte and lte, and this condition is {operator}",
                                  fix="remove `order`")
            return None
        if not isinstance(value, list) or not value or not all(_is_scalar(entry) for entry in value):
            self.problems.add((*path, "order") if value is not MISSING else path,
                              f"{operator} needs `order`: the values from lowest to highest, got {describe(None if value is MISSING else value)}",
                              fix="add `order: [subscriber, lead, marketingqualifiedlead, customer]` with your values")
            return None
        return tuple(value_key(entry) for entry in value)

    def condition_value(self, item: dict, path: PathParts, operator: Operator, order: tuple[str, ...] | None) -> Any:
        value = item.get("value", MISSING)
        if operator is Operator.EXISTS:
            if value is MISSING:
                return True
            if isinstance(value, bool):
                return value
            self.problems.add((*path, "value"), f"exists takes true or false, got {describe(value)}", fix="write `value: true` or `value: false`")
            return None
        if value is MISSING:
            self.problems.add(path, f"missing `value`: what {operator} compares with", fix="add `value:`")
            return None
        if operator in _LIST_OPERATORS:
            return self.value_list(value, (*path, "value"), operator)
        if not _is_scalar(value):
            self.problems.add((*path, "value"), f"{operator} compares with one value, got {describe(value)}",
                              fix="write one value, or use `op: in` with a list")
            return None
        if order is not None and value_key(value) not in order:
            self.problems.add((*path, "value"), f"value {value!r} is not in `order`", fix="add it to `order`, or pick a value from it")
            return None
        return value_key(value) if order is not None else plain(value)

    def value_list(self, value: Any, path: PathParts, operator: Operator) -> tuple[Any, ...] | None:
        if isinstance(value, list) and value and all(_is_scalar(entry) for entry in value):
            return tuple(plain(entry) for entry in value)
        self.problems.add(path, f"{operator} needs a non-empty list of values, got {describe(value)}", fix="write a list such as [lead, customer]")
        return None


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)
