"""KPIs over periods: won revenue per year, quarter and month, year-on-year growth,
monthly win rates and the change in win rate between two periods.

Periods are fiscal years, halves and quarters, and calendar months (see
`sync.kpis.definitions.Period`). A series of periods runs without gaps from the first
to the last period that has a deal, so a month without deals shows as zero instead of
disappearing from a chart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sync.kpis.definitions import (
    FiscalMonth,
    Grain,
    KpiSettings,
    Outcome,
    Period,
    calendar_month_of,
    fiscal_month,
    parse_period,
    period_label,
)
from sync.kpis.facts import DealFacts
from sync.kpis.results import MonthWinRate, PooledWinRate, RateChange, Status, WinRate, WonRevenue

REVENUE_GRAINS = (Grain.YEAR, Grain.QUARTER, Grain.MONTH)


@dataclass(frozen=True)
class RevenueByPeriod:
    """Won revenue per fiscal year, fiscal quarter and calendar month.

    `date_field` is the canonical field that placed each won deal in a period.
    `without_date` counts the won deals that lack that date and so appear in no period.
    """

    date_field: str
    years: tuple[WonRevenue, ...]
    quarters: tuple[WonRevenue, ...]
    months: tuple[WonRevenue, ...]
    without_date: int


@dataclass(frozen=True)
class Growth:
    """Change in won revenue from the previous fiscal year to `year`.

    `change` is a fraction (0.25 is 25 % growth) and is None when the previous year
    has no won revenue, because growth from zero has no finite rate.
    """

    year: str
    previous_year: str
    revenue: Decimal
    previous_revenue: Decimal

    @property
    def change(self) -> float | None:
        if self.previous_revenue == 0:
            return None
        return float((self.revenue - self.previous_revenue) / self.previous_revenue)


@dataclass(frozen=True)
class PeriodWinRate(PooledWinRate):
    """Win rate by count of one period, pooled and as the mean of its monthly rates."""

    period: str
    won: int
    lost: int
    months: tuple[MonthWinRate, ...]


@dataclass(frozen=True)
class WinRateChange(RateChange):
    """Change in win rate by count from period `first` to period `second`."""

    status: Status
    reason: str | None
    first: PeriodWinRate | None
    second: PeriodWinRate | None


def revenue_by_period(deals: Sequence[DealFacts], settings: KpiSettings) -> RevenueByPeriod:
    """Sum the won amounts per period of each grain, placed by the revenue date."""
    won = [deal for deal in deals if deal.outcome is Outcome.WON]
    dated = [deal for deal in won if deal.revenue_date is not None]
    months = _by_month(dated, lambda deal: deal.revenue_date, settings.fiscal_year_start_month)
    series = {
        grain: tuple(
            won_revenue(label, grouped)
            for label, grouped in _series(months, grain, settings.fiscal_year_start_month).items()
        )
        for grain in REVENUE_GRAINS
    }
    return RevenueByPeriod(
        date_field=settings.revenue_date,
        years=series[Grain.YEAR],
        quarters=series[Grain.QUARTER],
        months=series[Grain.MONTH],
        without_date=len(won) - len(dated),
    )


def year_on_year(years: Sequence[WonRevenue]) -> tuple[Growth, ...]:
    """Compare each fiscal year's won revenue with the year before, for a gap-free series."""
    return tuple(
        Growth(current.period, previous.period, current.revenue, previous.revenue)
        for previous, current in zip(years, years[1:], strict=False)
    )


def win_rate_by_month(closed: Sequence[DealFacts], settings: KpiSettings) -> tuple[WinRate, ...]:
    """Win rate per calendar month of the close date, from the first to the last month with a closed deal."""
    months = _by_month(closed, lambda deal: deal.close_date, settings.fiscal_year_start_month)
    grouped = _series(months, Grain.MONTH, settings.fiscal_year_start_month)
    return tuple(win_rate(label, deals) for label, deals in grouped.items())


def win_rate_change(closed: Sequence[DealFacts], settings: KpiSettings) -> WinRateChange:
    """Compare the win rates of the two periods of `settings.compare_periods`.

    Without `compare_periods`, the two halves of `settings.year` are compared, or of the
    latest fiscal year with a closed deal.
    """
    start_month = settings.fiscal_year_start_month
    months = _by_month(closed, lambda deal: deal.close_date, start_month)
    labels = settings.compare_periods or _default_halves(settings.year, months)
    if labels is None:
        return WinRateChange(Status.NOT_COMPUTABLE, "no closed deal has a close date", None, None)

    first, second = (_periodwin_rate(parse_period(label, start_month), months, start_month) for label in labels)
    empty = [rate.period for rate in (first, second) if rate.won + rate.lost == 0]
    if empty:
        reason = f"no closed deal in {' and '.join(empty)}"
        return WinRateChange(Status.NOT_COMPUTABLE, reason, first, second)
    return WinRateChange(Status.COMPUTED, None, first, second)


def _default_halves(year: int | None, months: dict[FiscalMonth, list[DealFacts]]) -> tuple[str, str] | None:
    chosen = year if year is not None else max((month.year for month in months), default=None)
    if chosen is None:
        return None
    return f"{chosen}-H1", f"{chosen}-H2"


def _periodwin_rate(period: Period, months: dict[FiscalMonth, list[DealFacts]], start_month: int) -> PeriodWinRate:
    rates = []
    for month in _span(period.first, period.last):
        counts = win_rate("", months.get(month, []))
        year, calendar_month = calendar_month_of(month, start_month)
        rates.append(MonthWinRate(year, calendar_month, counts.won, counts.lost))
    return PeriodWinRate(
        period=period.label,
        won=sum(month.won for month in rates),
        lost=sum(month.lost for month in rates),
        months=tuple(rates),
    )


def _by_month(
    deals: Sequence[DealFacts], day_of: Callable[[DealFacts], date | None], start_month: int,
) -> dict[FiscalMonth, list[DealFacts]]:
    """Group deals by the fiscal month of a date that each of them has."""
    months: dict[FiscalMonth, list[DealFacts]] = defaultdict(list)
    for deal in deals:
        day = day_of(deal)
        assert day is not None
        months[fiscal_month(day, start_month)].append(deal)
    return dict(months)


def _series(months: dict[FiscalMonth, list[DealFacts]], grain: Grain, start_month: int) -> dict[str, list[DealFacts]]:
    """Regroup monthly groups into periods of `grain`, in order and without gaps."""
    if not months:
        return {}
    first, last = _grain_bounds(min(months), max(months), grain)
    series: dict[str, list[DealFacts]] = {}
    for month in _span(first, last):
        series.setdefault(period_label(month, grain, start_month), []).extend(months.get(month, []))
    return series


def _grain_bounds(first: FiscalMonth, last: FiscalMonth, grain: Grain) -> tuple[FiscalMonth, FiscalMonth]:
    """Widen a month span to whole periods, so the first and last periods hold all their months."""
    if grain is Grain.MONTH:
        return first, last
    parse_first = parse_period(period_label(first, grain, 1))
    parse_last = parse_period(period_label(last, grain, 1))
    return parse_first.first, parse_last.last


def _span(first: FiscalMonth, last: FiscalMonth) -> list[FiscalMonth]:
    months = []
    month = first
    while month <= last:
        months.append(month)
        month = FiscalMonth(month.year + 1, 1) if month.month == 12 else FiscalMonth(month.year, month.month + 1)
    return months


def win_rate(period: str, closed: Sequence[DealFacts]) -> WinRate:
    """Count won and lost deals among `closed`, by count and by amount."""
    won = [deal for deal in closed if deal.outcome is Outcome.WON]
    lost = [deal for deal in closed if deal.outcome is Outcome.LOST]
    return WinRate(
        period=period,
        won=len(won),
        lost=len(lost),
        won_amount=total_amount(won),
        lost_amount=total_amount(lost),
        without_amount=sum(1 for deal in won + lost if deal.amount is None),
        lost_zero_amount=sum(1 for deal in lost if deal.amount == 0),
    )


def won_revenue(period: str, deals: Sequence[DealFacts]) -> WonRevenue:
    """Sum the amounts of the won deals among `deals`."""
    won = [deal for deal in deals if deal.outcome is Outcome.WON]
    return WonRevenue(
        period=period,
        won=len(won),
        revenue=total_amount(won),
        without_amount=sum(1 for deal in won if deal.amount is None),
    )


def total_amount(deals: Iterable[DealFacts]) -> Decimal:
    """Sum the amounts of `deals`, leaving out the deals without one."""
    return sum((deal.amount for deal in deals if deal.amount is not None), Decimal(0))

