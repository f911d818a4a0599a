"""Convert deal amounts to the report currency, and summarise the rates a report used.

A deal's currency is the ISO 4217 code in its `currency_field`, and a deal without one
is in the report currency. An amount in another currency is multiplied by that
currency's rate from `KpiSettings.exchange_rates` before any sum or average. The
product stays an exact decimal, and only the renderers round money to cents.

An amount in a currency without a rate is never summed unconverted. The deal keeps its
place in every count, but its amount becomes None with `ValueIssue.NO_EXCHANGE_RATE`, so
the money figures leave it out and data quality counts it.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from sync.kpis.definitions import KpiSettings

if TYPE_CHECKING:
    from sync.kpis.facts import DealFacts


class Conversion(enum.StrEnum):
    """Outcome of converting a deal's amount to the report currency."""

    NOT_NEEDED = "not needed"
    CONVERTED = "converted"
    NO_RATE = "no rate"


def currency_code(raw: object) -> str | None:
    """Normalise a deal's currency value to upper case, and return None for an empty value."""
    if raw is None:
        return None
    code = str(raw).strip().upper()
    return code or None


def convert_amount(amount: Decimal, code: str | None, settings: KpiSettings) -> tuple[Decimal | None, Conversion]:
    """Convert `amount`, given in currency `code`, to the report currency.

    A missing code or the report currency's own code needs no rate, and neither does an
    amount of 0. Returns the amount in the report currency, or None when `code` has no
    rate in `settings.exchange_rates`.
    """
    if code is None or code == settings.currency:
        return amount, Conversion.NOT_NEEDED
    if amount == 0:
        return amount, Conversion.NOT_NEEDED

    rate = settings.exchange_rates.get(code)
    if rate is None:
        return None, Conversion.NO_RATE
    return amount * rate, Conversion.CONVERTED


@dataclass(frozen=True)
class RateUse:
    """One exchange rate a report applied: `rate` units of the report currency per unit of `currency`."""

    currency: str
    rate: Decimal
    deals: int


@dataclass(frozen=True)
class CurrencyNote:
    """The conversions behind a report's money figures.

    `converted` lists each rate applied, with the number of deals converted at it.
    `without_rate` pairs each currency that has no rate with the number of deals whose
    amount was left out of the money figures for that reason.
    """

    currency: str
    converted: tuple[RateUse, ...]
    without_rate: tuple[tuple[str, int], ...]

    @property
    def text(self) -> str:
        """Text for a report: the rates used and the currencies whose amounts were left out."""
        parts = []
        if self.converted:
            rates = ", ".join(
                f"1 {use.currency} = {use.rate} {self.currency} ({_deals(use.deals)})" for use in self.converted
            )
            parts.append(f"Amounts converted to {self.currency} at {rates}.")
        if self.without_rate:
            missing = ", ".join(f"{currency} ({_deals(deals)})" for currency, deals in self.without_rate)
            parts.append(
                f"No exchange rate for {missing}, so those amounts are left out of money figures. "
                "Add the rates to exchange_rates in the KPI settings."
            )
        return " ".join(parts)


def _deals(count: int) -> str:
    return f"{count:,} deal" if count == 1 else f"{count:,} deals"


def currency_note(deals: Sequence[DealFacts], settings: KpiSettings) -> CurrencyNote | None:
    """Summarise the conversions of `deals`, or return None when no deal needed one."""
    converted = Counter(deal.source_currency for deal in deals if deal.conversion is Conversion.CONVERTED)
    missing = Counter(deal.source_currency for deal in deals if deal.conversion is Conversion.NO_RATE)
    if not converted and not missing:
        return None

    uses = tuple(
        RateUse(str(code), settings.exchange_rates[str(code)], count) for code, count in sorted(converted.items())
    )
    return CurrencyNote(settings.currency, uses, tuple((str(code), count) for code, count in sorted(missing.items())))
