"""Typed KPI results that the report renderers read.

Money is `Decimal` in the report currency. Rates are `Ratio`s that keep their numerator
and denominator, so a reader can check every figure. A KPI that cannot be measured on
the data carries `Status.NOT_COMPUTABLE` and a reason, never a zero.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sync.kpis.breakdowns import Breakdown
    from sync.kpis.currencies import CurrencyNote
    from sync.kpis.periods import Growth, RevenueByPeriod, WinRateChange
    from sync.kpis.pipeline import SalesCycle, Velocity, WeightedPipeline
    from sync.kpis.stages import StageHistory

ALL_PERIODS = "all"


class Status(enum.StrEnum):
    COMPUTED = "computed"
    NOT_COMPUTABLE = "not computable"


@dataclass(frozen=True)
class Ratio:
    """A share such as a win rate. `value` is None when the denominator is zero."""

    numerator: Decimal
    denominator: Decimal

    @property
    def value(self) -> float | None:
        if self.denominator == 0:
            return None
        return float(Decimal(self.numerator) / Decimal(self.denominator))


@dataclass(frozen=True)
class WinRate:
    """Won against won plus lost, among the closed deals whose close date is in `period`.

    `period` is a period label (see `sync.kpis.definitions.parse_period`), or
    `ALL_PERIODS`. The rate by amount leaves out
    the `without_amount` closed deals that have no readable amount. When a CRM zeroes
    the amount of lost deals (`lost_zero_amount` of them), the rate by amount overstates
    the share of value won.
    """

    period: str
    won: int
    lost: int
    won_amount: Decimal
    lost_amount: Decimal
    without_amount: int
    lost_zero_amount: int = 0

    @property
    def by_count(self) -> Ratio:
        return Ratio(Decimal(self.won), Decimal(self.won + self.lost))

    @property
    def by_amount(self) -> Ratio:
        return Ratio(self.won_amount, self.won_amount + self.lost_amount)


@dataclass(frozen=True)
class WonRevenue:
    """Sum of the amounts of the won deals whose close date is in `period`.

    The average won deal divides the revenue by the won deals that have an amount, so
    `without_amount` deals neither add revenue nor lower the average.
    """

    period: str
    won: int
    revenue: Decimal
    without_amount: int

    @property
    def average(self) -> Decimal | None:
        with_amount = self.won - self.without_amount
        return self.revenue / with_amount if with_amount else None


@dataclass(frozen=True)
class OpenPipeline:
    """Sum of the amounts of all open deals, whatever their expected close date."""

    open_deals: int
    value: Decimal
    without_amount: int


@dataclass(frozen=True)
class OverdueDeal:
    """An open deal whose expected close date is before the as-of date."""

    position: int
    name: str | None
    stage: str | None
    owner: str | None
    amount: Decimal | None
    close_date: date
    days_overdue: int


@dataclass(frozen=True)
class Overdue:
    """Open deals past their expected close date, oldest first.

    `count` is None when the KPI is not computable. `unchecked` counts the open deals
    without an expected close date, which cannot be judged overdue.
    """

    status: Status
    reason: str | None
    count: int | None
    deals: tuple[OverdueDeal, ...]
    unchecked: int


@dataclass(frozen=True)
class MonthWinRate:
    """Win rate by count of one calendar month, among deals closed in that month."""

    year: int
    month: int
    won: int
    lost: int

    @property
    def rate(self) -> Ratio:
        return Ratio(Decimal(self.won), Decimal(self.won + self.lost))


class PooledWinRate:
    """Win rate by count of a span of months, pooled and as the mean of its monthly rates.

    A base for dataclasses with `won`, `lost` and `months` fields. `pooled` is won against
    closed over the whole span; `monthly_mean` is the mean of the monthly rates, over the
    months that have at least one closed deal.
    """

    won: int
    lost: int
    months: tuple[MonthWinRate, ...]

    @property
    def pooled(self) -> Ratio:
        return Ratio(Decimal(self.won), Decimal(self.won + self.lost))

    @property
    def monthly_mean(self) -> float | None:
        rates = [month.rate.value for month in self.months if month.rate.value is not None]
        return sum(rates) / len(rates) if rates else None


@dataclass(frozen=True)
class HalfWinRate(PooledWinRate):
    """Win rate by count of one half (1 or 2) of a fiscal year, pooled and by month."""

    half: int
    won: int
    lost: int
    months: tuple[MonthWinRate, ...]


class RateChange:
    """Change in win rate by count between two spans, pooled and as the mean of monthly rates.

    A base for dataclasses with `first` and `second` fields (PooledWinRate or None). The
    changes are in percentage points (second minus first) and are None when either span
    has no closed deal.
    """

    first: PooledWinRate | None
    second: PooledWinRate | None

    @property
    def pooled_change(self) -> float | None:
        if self.first is None or self.second is None:
            return None
        return _points(self.first.pooled.value, self.second.pooled.value)

    @property
    def monthly_mean_change(self) -> float | None:
        if self.first is None or self.second is None:
            return None
        return _points(self.first.monthly_mean, self.second.monthly_mean)


@dataclass(frozen=True)
class HalfChange(RateChange):
    """Change in win rate from the first to the second half of fiscal year `year`."""

    status: Status
    reason: str | None
    year: int | None
    first: HalfWinRate | None
    second: HalfWinRate | None


def _points(first: float | None, second: float | None) -> float | None:
    if first is None or second is None:
        return None
    return (second - first) * 100


@dataclass(frozen=True)
class DataQuality:
    """Counts of deals with values that the KPIs had to leave out.

    `without_amount` and `without_close_date` include the malformed values, which are
    also counted on their own. `without_amount` also includes the `without_exchange_rate`
    deals, whose amount is in a currency that the settings give no exchange rate. `open_past_close_date` is None when the overdue check is
    not computable. `repeated_keys` counts the deal facts left out because an earlier
    fact had the same key. `suspected_duplicates` and `unmatched` come from the
    reconciliation and are None when the caller did not pass them.
    """

    deals: int
    without_amount: int
    malformed_amount: int
    without_close_date: int
    malformed_close_date: int
    closed_without_close_date: int
    without_stage: int
    without_amount_or_close_date: int = 0
    without_created_date: int = 0
    open_past_close_date: int | None = None
    repeated_keys: int = 0
    suspected_duplicates: int | None = None
    unmatched: int | None = None
    without_exchange_rate: int = 0


@dataclass(frozen=True)
class RecordCounts:
    """Counts from the reconciliation that data quality reports: records that look like
    duplicates of another record, and records that could not be matched.
    """

    suspected_duplicates: int
    unmatched: int


@dataclass(frozen=True)
class KpiReport:
    """Every KPI of one computation, with the settings that shaped it.

    `stage_history` is None when the caller passed no stage events. `currency_note` is
    None when no deal's amount needed a conversion. The other fields with defaults are
    None or empty only in reports built by hand.
    """

    as_of: date
    time_zone: str
    currency: str
    fiscal_year_start_month: int
    win_rate: WinRate
    win_rate_by_year: tuple[WinRate, ...]
    won_revenue: WonRevenue
    won_revenue_by_year: tuple[WonRevenue, ...]
    open_pipeline: OpenPipeline
    overdue: Overdue
    half_change: HalfChange
    data_quality: DataQuality
    win_rate_by_month: tuple[WinRate, ...] = ()
    revenue_by_period: RevenueByPeriod | None = None
    year_on_year: tuple[Growth, ...] = ()
    win_rate_change: WinRateChange | None = None
    weighted_pipeline: WeightedPipeline | None = None
    sales_cycle: SalesCycle | None = None
    velocity: Velocity | None = None
    stage_history: StageHistory | None = None
    breakdowns: tuple[Breakdown, ...] = ()
    currency_note: CurrencyNote | None = None
