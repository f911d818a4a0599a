"""Turn CSV text into the values each sandbox stores: numbers, dates, booleans, options.

Every parser raises `ValueError` with a message that states what was expected, so the
loader can reject the row with that reason and go on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sync.sandbox.dataverse_schema import OPTION_TYPES, AttributeType, Column, DateFormat
from sync.sandbox.hubspot_schema import PropertyDefinition, PropertyType
from sync.sandbox.seed_spec import NumberFormat

TRUE_WORDS = frozenset({"true", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "0"})


def parse_number(text: str, number_format: NumberFormat) -> Decimal:
    """Parse `$1,234.50`, `1.234,50 €` or `(95.00)` (negative) by the source's number format."""
    cleaned = text.strip()
    negative = cleaned.startswith("(") and cleaned.endswith(")")
    if negative:
        cleaned = cleaned[1:-1]
    for symbol in number_format.currency:
        cleaned = cleaned.replace(symbol, "")
    cleaned = cleaned.replace("\u00a0", "").replace(" ", "")
    if number_format.thousands:
        cleaned = cleaned.replace(number_format.thousands, "")
    if number_format.decimal != ".":
        cleaned = cleaned.replace(number_format.decimal, ".")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise ValueError(
            f"not a number (thousands separator {number_format.thousands!r}, decimal mark {number_format.decimal!r})"
        )
    return -number if negative else number


def parse_moment(text: str, date_format: str) -> datetime:
    """Parse a date or date-time by `date_format`, falling back to ISO 8601. Naive times are UTC."""
    value = text.strip()
    try:
        moment = datetime.strptime(value, date_format)
    except ValueError:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"not a date in the format {date_format!r} or ISO 8601") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError("not a yes/no value (true, false, yes, no, 1, 0)")


def iso_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def hubspot_value(prop: PropertyDefinition | None, text: str, date_format: str, number_format: NumberFormat) -> str:
    """Convert CSV text to the string HubSpot stores for the property, unchanged for an unknown one."""
    if prop is None or prop.type in (PropertyType.STRING, PropertyType.ENUMERATION):
        return text
    if prop.type is PropertyType.NUMBER:
        return _plain(parse_number(text, number_format))
    if prop.type is PropertyType.DATETIME:
        return iso_datetime(parse_moment(text, date_format))
    if prop.type is PropertyType.DATE:
        return parse_moment(text, date_format).date().isoformat()
    return "true" if parse_bool(text) else "false"


def dataverse_value(column: Column, text: str, date_format: str, number_format: NumberFormat) -> Any:
    """Convert CSV text to the JSON value the Dataverse column takes."""
    if column.type in (AttributeType.MONEY, AttributeType.DECIMAL):
        return float(parse_number(text, number_format))
    if column.type is AttributeType.INTEGER:
        return _integer(parse_number(text, number_format))
    if column.type is AttributeType.BOOLEAN:
        return parse_bool(text)
    if column.type is AttributeType.DATETIME:
        moment = parse_moment(text, date_format)
        return moment.date().isoformat() if column.date_format is DateFormat.DATE_ONLY else iso_datetime(moment)
    if column.type in OPTION_TYPES:
        return option_value(column, text)
    return text


def option_value(column: Column, text: str) -> int:
    """Accept an option's number or its label, such as `1` or `Won` for statecode."""
    for number, label in column.options.items():
        if text.strip().lower() == label.lower() or text.strip() == str(number):
            return number
    labels = ", ".join(f"{number} {label}" for number, label in column.options.items())
    raise ValueError(f"not an option of {column.name} ({labels}); map it under `values`")


def _integer(number: Decimal) -> int:
    if number != number.to_integral_value():
        raise ValueError("not a whole number")
    return int(number)


def _plain(number: Decimal) -> str:
    """Render a number without exponent or trailing zeros: `95000`, `12.5`."""
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
