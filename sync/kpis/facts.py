"""Turn canonical deal values into typed deal facts for the KPI computation.

Bad values never stop the computation. An amount or close date that cannot be read
becomes None, and the deal keeps a `ValueIssue` for the data quality counts. A problem
line names the deal, the field, the value and what happens to the deal. An amount in a
currency without an exchange rate also becomes None (see `sync.kpis.currencies`).

Dates: a date-only value ("2017-03-31") is taken as that calendar day whatever the time
zone. A datetime with an offset is converted to the reporting time zone before its day
is taken, so 2017-03-31T22:00-08:00 stays on 31 March in America/Los_Angeles even though
it is already 1 April in UTC. A datetime without an offset is read as wall time in the
reporting time zone.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sync.kpis.currencies import Conversion, convert_amount, currency_code
from sync.kpis.definitions import KpiSettings, Outcome, stage_table


class ValueIssue(enum.StrEnum):
    """Why a deal's value is None: the field was empty, its value could not be read, or
    the amount is in a currency without an exchange rate.
    """

    NONE = "none"
    MISSING = "missing"
    MALFORMED = "malformed"
    NO_EXCHANGE_RATE = "no exchange rate"


@dataclass(frozen=True)
class DealFacts:
    """The facts of one real deal that the KPIs read.

    `amount` is in the report currency (`facts_from_canonical` never gives a negative one),
    after conversion at the settings' exchange rate. `source_amount` and `source_currency`
    are the amount and currency code as the deal's values give them, and `conversion`
    says how the one became the other. `close_date` is the expected
    close date of an open deal and the actual close date of a closed one, as a day in
    the reporting time zone. `position` is the deal's 0-based index in the input.
    `key` identifies the real deal, so two facts with the same key count once.
    `created_date` starts the sales cycle. `revenue_date` places won revenue in a
    period and is the close date unless the settings name another field.
    `dimensions` holds the breakdown values (breakdown name -> value) of the breakdowns
    whose field is present in the deal's values.
    """

    position: int
    name: str | None
    stage: str | None
    outcome: Outcome
    amount: Decimal | None
    close_date: date | None
    owner: str | None = None
    amount_issue: ValueIssue = ValueIssue.NONE
    close_date_issue: ValueIssue = ValueIssue.NONE
    key: str | None = None
    created_date: date | None = None
    revenue_date: date | None = None
    dimensions: Mapping[str, str | None] = field(default_factory=dict, hash=False)
    source_amount: Decimal | None = None
    source_currency: str | None = None
    conversion: Conversion = Conversion.NOT_NEEDED

    @property
    def label(self) -> str:
        return f"deal #{self.position + 1}" + (f" {self.name!r}" if self.name else "")


class _Unreadable(ValueError):
    """A value of the right field that cannot be read as the expected type."""


def facts_from_canonical(
    values: Sequence[Mapping[str, Any]],
    settings: KpiSettings,
    stage_outcomes: Mapping[str, Outcome] | None = None,
) -> tuple[list[DealFacts], list[str]]:
    """Build one `DealFacts` per canonical deal and list the values that could not be read.

    `stage_outcomes` maps stage ids to outcomes, and stages missing from it are open.
    None means `DEFAULT_STAGE_OUTCOMES`. The settings' `stage_outcomes` override it.
    Returns the facts in input order and one problem line per unreadable value.
    """
    table = stage_table(settings, stage_outcomes)
    facts: list[DealFacts] = []
    problems: list[str] = []
    for position, deal in enumerate(values):
        fact, deal_problems = _deal_facts(position, deal, settings, table)
        facts.append(fact)
        problems.extend(deal_problems)
    return facts, problems


def _deal_facts(
    position: int, deal: Mapping[str, Any], settings: KpiSettings, table: Mapping[str, Outcome],
) -> tuple[DealFacts, list[str]]:
    name = _text(deal.get(settings.name_field))
    stage = _text(deal.get(settings.stage_field))
    outcome = table.get(stage, Outcome.OPEN) if stage is not None else Outcome.OPEN
    label = DealFacts(position, name, stage, outcome, None, None).label
    problems: list[str] = []

    money = _money(deal, label, settings, problems)

    raw_close = deal.get(settings.close_date_field)
    close_date, close_issue = _read(lambda value: parse_close_date(value, settings.zone), raw_close)
    if close_issue is ValueIssue.MALFORMED:
        problems.append(
            f"{label}: {settings.close_date_field} {raw_close!r} is not a date (expected YYYY-MM-DD "
            "or an ISO 8601 datetime). The deal is counted as without close date. Fix the date in the CRM."
        )

    created_date = _other_date(deal, settings.created_date_field, label, settings, problems)
    revenue_date = close_date
    if settings.revenue_date != settings.close_date_field:
        revenue_date = _other_date(deal, settings.revenue_date, label, settings, problems)

    fact = DealFacts(
        position=position, name=name, stage=stage, outcome=outcome, amount=money.amount,
        close_date=close_date, owner=_text(deal.get(settings.owner_field)),
        amount_issue=money.issue, close_date_issue=close_issue,
        key=_text(deal.get(settings.key_field)), created_date=created_date, revenue_date=revenue_date,
        dimensions={name: _text(deal[source]) for name, source in settings.breakdown_fields.items() if source in deal},
        source_amount=money.source_amount, source_currency=money.source_currency, conversion=money.conversion,
    )
    return fact, problems


@dataclass(frozen=True)
class _Money:
    amount: Decimal | None
    issue: ValueIssue
    source_amount: Decimal | None
    source_currency: str | None
    conversion: Conversion


def _money(deal: Mapping[str, Any], label: str, settings: KpiSettings, problems: list[str]) -> _Money:
    """Read a deal's amount and convert it to the report currency, adding a problem line when either fails."""
    raw_amount = deal.get(settings.amount_field)
    code = currency_code(deal.get(settings.currency_field))
    amount, issue = _read(parse_amount, raw_amount)
    if issue is ValueIssue.MALFORMED:
        problems.append(
            f"{label}: {settings.amount_field} {raw_amount!r} is not a non-negative number. "
            "The deal is counted as without amount. Fix the amount in the CRM."
        )
    if amount is None:
        return _Money(None, issue, None, code, Conversion.NOT_NEEDED)

    converted, conversion = convert_amount(amount, code, settings)
    if conversion is Conversion.NO_RATE:
        problems.append(
            f"{label}: {settings.amount_field} {raw_amount!r} is in {code}, which has no exchange rate to "
            f"{settings.currency}. The deal is counted but left out of money figures. "
            f"Add {code} to exchange_rates in the KPI settings."
        )
        return _Money(None, ValueIssue.NO_EXCHANGE_RATE, amount, code, conversion)
    return _Money(converted, ValueIssue.NONE, amount, code, conversion)


def _other_date(
    deal: Mapping[str, Any], field_name: str, label: str, settings: KpiSettings, problems: list[str],
) -> date | None:
    """Read an optional date field other than the close date, adding a problem line when it is malformed."""
    raw = deal.get(field_name)
    day, issue = _read(lambda value: parse_close_date(value, settings.zone), raw)
    if issue is ValueIssue.MALFORMED:
        problems.append(
            f"{label}: {field_name} {raw!r} is not a date (expected YYYY-MM-DD or an ISO 8601 datetime). "
            "The KPIs that need this date leave the deal out. Fix the date in the CRM."
        )
    return day


def _read(parse: Callable[[Any], Any], raw: Any) -> tuple[Any, ValueIssue]:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, ValueIssue.MISSING
    try:
        return parse(raw), ValueIssue.NONE
    except _Unreadable:
        return None, ValueIssue.MALFORMED


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def parse_amount(value: Any) -> Decimal:
    """Read a deal amount from a number or a numeric string such as "1234.50".

    Raises `ValueError` for booleans, text that is not a number, NaN, infinity and
    negative amounts. Floats are read through their shortest repr, so 0.1 stays 0.1.
    """
    if isinstance(value, bool):
        raise _Unreadable("a boolean is not an amount")
    if isinstance(value, float) and not math.isfinite(value):
        raise _Unreadable("amount is not finite")
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        raise _Unreadable("amount is not a number") from None
    if not amount.is_finite() or amount < 0:
        raise _Unreadable("amount is not a finite non-negative number")
    return amount


def parse_close_date(value: Any, zone: ZoneInfo) -> date:
    """Read a close date as a calendar day in `zone` (see the module docstring).

    Accepts `date`, `datetime` and ISO 8601 strings. Raises `ValueError` for anything else.
    """
    if isinstance(value, datetime):
        return _day_in_zone(value, zone)
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise _Unreadable("close date is not a date or a string")
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return _day_in_zone(datetime.fromisoformat(text), zone)
    except ValueError:
        raise _Unreadable("close date is not ISO 8601") from None


def _day_in_zone(moment: datetime, zone: ZoneInfo) -> date:
    # NOTE: a date stored as midnight UTC (2017-03-01T00:00:00Z) falls on the previous
    # day in zones west of UTC. Map such fields to date-only values to keep their day.
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(zone).date()
