"""Conversions between raw field values and canonical values, one pair per field type.

Canonical values are JSON-native so that the state store can keep them as they are:

- string: `str` after the transforms; an empty string and None both become None.
- number: `float`. HubSpot sends numeric strings; only plain ones (`1054`, `-3.5`) are valid.
- date: `"YYYY-MM-DD"`. A datetime from either system is an instant, and its date is taken
  in the mapping's timezone.
- datetime: ISO 8601 in UTC with a `Z`, to whole seconds.
- boolean: `True` or `False`.
- money: `float` rounded to the minor unit of the field's currency (cents for USD, none
  for JPY). Amounts are never converted between currencies.

Enums are value maps and live in `sync.mapping.values`. HubSpot clears a property when it
is sent an empty string, so None goes to HubSpot as `""` and to Dataverse as null.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sync.mapping.terms import FieldType
from sync.mapping.transforms import Transform, apply_transforms
from sync.model import System

_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_EPOCH_MILLISECONDS = re.compile(r"^-?\d+$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SHOWN_LENGTH = 40


class InvalidValue(ValueError):
    """A raw or canonical value that its field cannot take; `reason` includes the fix.

    `category` becomes the `RecordError` category: `invalid_value`, or `unmapped_value`
    for an enum value that the value map does not list.
    """

    def __init__(self, reason: str, category: str = "invalid_value"):
        self.reason = reason
        self.category = category
        super().__init__(reason)


def show(value: Any) -> str:
    """Render a value for an error message, cut to a readable length."""
    text = repr(value)
    if len(text) > _SHOWN_LENGTH:
        text = text[: _SHOWN_LENGTH - 3] + "..."
    return text


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip() == "")


# --- string ---------------------------------------------------------------------------


def string_to_canonical(raw: Any, transforms: Sequence[Transform] = (), phone_region: str | None = None) -> str | None:
    """Convert a raw text value; numbers become their plain text, other types are invalid."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise InvalidValue(f"expected text, got the boolean {raw}; set `type: boolean` on this field")
    if _is_number(raw):
        raw = format_number(float(raw))
    if not isinstance(raw, str):
        raise InvalidValue(f"expected text, got {type(raw).__name__} {show(raw)}")
    text = apply_transforms(raw, transforms, phone_region)
    return text or None


# --- number ---------------------------------------------------------------------------


def number_to_canonical(raw: Any) -> float | None:
    if _blank(raw):
        return None
    if _is_number(raw):
        number = float(raw)
    elif isinstance(raw, str) and _PLAIN_NUMBER.match(raw.strip()):
        number = float(raw.strip())
    else:
        raise InvalidValue(
            f"invalid number {show(raw)}; use plain digits with an optional decimal point, "
            "without thousands separators or currency signs (for example 1054.50)"
        )
    if not math.isfinite(number):
        raise InvalidValue(f"invalid number {show(raw)}; the value must be finite")
    return number


def format_number(number: float) -> str:
    """Write a number as HubSpot expects it: plain digits, no exponent, no trailing `.0`."""
    if number.is_integer():
        return str(int(number))
    return format(Decimal(repr(number)), "f")


def number_from_canonical(value: Any, system: System) -> str | int | float | None:
    """Return a HubSpot numeric string or a Dataverse number (an int when it is whole)."""
    number = number_to_canonical(value)
    if number is None:
        return "" if system is System.HUBSPOT else None
    if system is System.HUBSPOT:
        return format_number(number)
    return int(number) if number.is_integer() else number


# ISO 4217 currencies whose minor unit is not the usual hundredth.
MINOR_UNIT_DIGITS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}


def money_to_canonical(raw: Any, currency: str | None) -> float | None:
    """Convert a raw amount and round it to the minor unit of `currency` (2 digits if None)."""
    number = number_to_canonical(raw)
    if number is None:
        return None
    digits = MINOR_UNIT_DIGITS.get(currency or "", 2)
    return float(round(Decimal(repr(number)), digits))


# --- dates and datetimes --------------------------------------------------------------


def parse_instant(raw: Any) -> datetime | date:
    """Parse epoch milliseconds, an ISO datetime or an ISO date.

    A date-only value comes back as a `date`; everything else as an aware `datetime`.
    A datetime without an offset is taken as UTC, which is how both APIs send them.
    """
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    if isinstance(raw, date):
        return raw
    if _is_number(raw) or (isinstance(raw, str) and _EPOCH_MILLISECONDS.match(raw.strip())):
        return _from_epoch_milliseconds(raw)
    if not isinstance(raw, str):
        raise InvalidValue(f"expected a date or datetime, got {type(raw).__name__} {show(raw)}")
    text = raw.strip()
    try:
        if _DATE_ONLY.match(text):
            return date.fromisoformat(text)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidValue(
            f"invalid date {show(raw)}; use ISO 8601 (2024-06-30 or 2024-06-30T17:00:00Z) "
            "or epoch milliseconds"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _from_epoch_milliseconds(raw: Any) -> datetime:
    try:
        milliseconds = float(raw)
        return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidValue(f"invalid epoch milliseconds {show(raw)}; the value is out of range") from None


def date_to_canonical(raw: Any, zone: ZoneInfo) -> str | None:
    """Return `YYYY-MM-DD`; an instant is turned into a date in `zone`."""
    if _blank(raw):
        return None
    instant = parse_instant(raw)
    if isinstance(instant, datetime):
        return instant.astimezone(zone).date().isoformat()
    return instant.isoformat()


def date_from_canonical(value: Any, system: System, zone: ZoneInfo) -> str | None:
    """Return midnight in `zone` as an ISO UTC datetime for HubSpot, or `YYYY-MM-DD` for Dataverse."""
    day = date_to_canonical(value, zone)
    if day is None:
        return "" if system is System.HUBSPOT else None
    if system is System.DYNAMICS:
        return day
    midnight = datetime.combine(date.fromisoformat(day), time(0), tzinfo=zone)
    return _format_utc(midnight)


def datetime_to_canonical(raw: Any, zone: ZoneInfo) -> str | None:
    """Return an ISO UTC datetime with `Z`, to whole seconds; a bare date is midnight in `zone`."""
    if _blank(raw):
        return None
    instant = parse_instant(raw)
    if not isinstance(instant, datetime):
        instant = datetime.combine(instant, time(0), tzinfo=zone)
    return _format_utc(instant)


def datetime_from_canonical(value: Any, system: System, zone: ZoneInfo) -> str | None:
    text = datetime_to_canonical(value, zone)
    if text is None and system is System.HUBSPOT:
        return ""
    return text


def _format_utc(instant: datetime) -> str:
    # NOTE: fractions of a second are dropped, because Dataverse keeps whole seconds and
    # HubSpot sends milliseconds; keeping them would make equal instants differ.
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- boolean --------------------------------------------------------------------------


def boolean_to_canonical(raw: Any) -> bool | None:
    if _blank(raw):
        return None
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    raise InvalidValue(f"invalid boolean {show(raw)}; expected true or false")


def boolean_from_canonical(value: Any, system: System) -> str | bool | None:
    flag = boolean_to_canonical(value)
    if system is System.DYNAMICS:
        return flag
    if flag is None:
        return ""
    return "true" if flag else "false"


# --- dispatch -------------------------------------------------------------------------


def scalar_to_canonical(
    field_type: FieldType, raw: Any, zone: ZoneInfo, transforms: Sequence[Transform] = (),
    *, phone_region: str | None = None, currency: str | None = None,
) -> Any:
    """Convert one raw value of a non-enum field; raise `InvalidValue` when it does not fit."""
    readers: dict[FieldType, Callable[[], Any]] = {
        FieldType.STRING: lambda: string_to_canonical(raw, transforms, phone_region),
        FieldType.MONEY: lambda: money_to_canonical(raw, currency),
        FieldType.NUMBER: lambda: number_to_canonical(raw),
        FieldType.DATE: lambda: date_to_canonical(raw, zone),
        FieldType.DATETIME: lambda: datetime_to_canonical(raw, zone),
        FieldType.BOOLEAN: lambda: boolean_to_canonical(raw),
    }
    return readers[field_type]()


def scalar_from_canonical(field_type: FieldType, value: Any, system: System, zone: ZoneInfo) -> Any:
    """Convert one canonical value of a non-enum field to the raw value `system` takes."""
    writers: dict[FieldType, Callable[[], Any]] = {
        FieldType.STRING: lambda: _string_from_canonical(value, system),
        FieldType.NUMBER: lambda: number_from_canonical(value, system),
        FieldType.MONEY: lambda: number_from_canonical(value, system),
        FieldType.DATE: lambda: date_from_canonical(value, system, zone),
        FieldType.DATETIME: lambda: datetime_from_canonical(value, system, zone),
        FieldType.BOOLEAN: lambda: boolean_from_canonical(value, system),
    }
    return writers[field_type]()


def _string_from_canonical(value: Any, system: System) -> str | None:
    text = string_to_canonical(value)
    if text is None and system is System.HUBSPOT:
        return ""
    return text
