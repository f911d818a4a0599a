"""HubSpot property values: parsing the times HubSpot returns and formatting values to send."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo


def parse_time(value: Any, timezone: str = "UTC") -> datetime | None:
    """Parse an ISO-8601 datetime, a date-only string or epoch milliseconds into an aware datetime.

    Date-only values are midnight in `timezone`, the portal's zone. Empty values give None;
    anything else unparseable raises ValueError.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time.min, tzinfo=ZoneInfo(timezone))
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(moment: datetime) -> str:
    """Format an aware datetime as HubSpot writes times: UTC, milliseconds, a Z."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def to_property(value: Any) -> Any:
    """Turn a mapped value into what HubSpot accepts: strings, numbers, or "" to clear."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_time(value if value.tzinfo else value.replace(tzinfo=UTC))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
