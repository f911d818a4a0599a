"""Compute the pipeline KPIs from the deal facts of the reconciled deals.

Each real deal must appear once in the input: the engine reconciles HubSpot deals and
Dataverse opportunities first, so a deal present in both CRMs counts once. The
formulas, populations and date bases are written out in docs/kpis.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TypeVar

from sync.kpis.breakdowns import breakdowns
from sync.kpis.currencies import Conversion, currency_note
from sync.kpis.definitions import (
    MONTHS_PER_HALF,
    FiscalMonth,
    KpiSettings,
    Outcome,
    calendar_month_of,
    fiscal_month,
    stage_table,
)
from sync.kpis.facts import DealFacts, ValueIssue
from sync.kpis.periods import (
    revenue_by_period,
    total_amount,
    win_rate,
    win_rate_by_month,
    win_rate_change,
    won_revenue,
    year_on_year,
)
from sync.kpis.pipeline import sales_cycle, velocity, weighted_pipeline
from sync.kpis.results import (
    ALL_PERIODS,
    DataQuality,
    HalfChange,
    HalfWinRate,
    KpiReport,
    MonthWinRate,
    OpenPipeline,
    Overdue,
    OverdueDeal,
    RecordCounts,
    Status,
)
from sync.kpis.stages import StageEvent, StageHistory, stage_history

Clock = Callable[[], datetime]
K = TypeVar("K")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def compute_kpis(
    deals: Sequence[DealFacts],
    settings: KpiSettings,
    *,
    clock: Clock = _utc_now,
    stage_probabilities: Mapping[str, float] | None = None,
    stage_events: Sequence[StageEvent] | None = None,
    stage_outcomes: Mapping[str, Outcome] | None = None,
    record_counts: RecordCounts | None = None,
) -> KpiReport:
    """Compute every KPI over `deals`, one entry per real deal.

    A fact whose `key` repeats an earlier fact's key is left out and counted under data
    quality. `clock` returns the current time (timezone-aware). It is read only when
    `settings.as_of` is None, to take today's date in `settings.time_zone`.
    `stage_probabilities` maps stage ids to the chance (0 to 1) that a deal in that stage
    closes won, as the HubSpot pipelines API returns it, and the settings' table
    overrides it. `stage_events` is the stage history, and `stage_outcomes` is the stage
    table that classifies its stages (as for `facts_from_canonical`). `record_counts`
    carries the reconciliation's duplicate and unmatched counts. The amounts in `deals`
    are already in the report currency (see `sync.kpis.currencies`).
    """
    as_of = settings.as_of or clock().astimezone(settings.zone).date()
    deals, repeated = unique_deals(deals)
    closed = [deal for deal in deals if deal.outcome.closed and deal.close_date is not None]
    by_year = _group(closed, lambda deal: fiscal_month(_day(deal), settings.fiscal_year_start_month).year)
    overall_rate, overall_revenue = win_rate(ALL_PERIODS, closed), won_revenue(ALL_PERIODS, closed)
    late = overdue(deals, as_of)
    cycle = sales_cycle(closed)
    by_period = revenue_by_period(deals, settings)
    probabilities = {**(stage_probabilities or {}), **settings.stage_probabilities}

    return KpiReport(
        as_of=as_of,
        time_zone=settings.time_zone,
        currency=settings.currency,
        fiscal_year_start_month=settings.fiscal_year_start_month,
        win_rate=overall_rate,
        win_rate_by_year=tuple(win_rate(str(year), by_year[year]) for year in sorted(by_year)),
        won_revenue=overall_revenue,
        won_revenue_by_year=tuple(won_revenue(str(year), by_year[year]) for year in sorted(by_year)),
        open_pipeline=open_pipeline(deals),
        overdue=late,
        half_change=half_change(closed, settings),
        data_quality=data_quality(deals, late, repeated, record_counts),
        win_rate_by_month=win_rate_by_month(closed, settings),
        revenue_by_period=by_period,
        year_on_year=year_on_year(by_period.years),
        win_rate_change=win_rate_change(closed, settings),
        weighted_pipeline=weighted_pipeline(deals, probabilities, settings.stage_order),
        sales_cycle=cycle,
        velocity=velocity(deals, settings, overall_rate, overall_revenue, cycle),
        stage_history=_stage_history(stage_events, stage_outcomes, settings),
        breakdowns=breakdowns(deals, settings.breakdown_fields),
        currency_note=currency_note(deals, settings),
    )


def unique_deals(deals: Sequence[DealFacts]) -> tuple[list[DealFacts], int]:
    """Keep the first fact of each key, and every fact without a key.

    Returns the kept facts in input order and the number left out.
    """
    seen: set[str] = set()
    kept = []
    for deal in deals:
        if deal.key is not None and deal.key in seen:
            continue
        if deal.key is not None:
            seen.add(deal.key)
        kept.append(deal)
    return kept, len(deals) - len(kept)


def _stage_history(
    events: Sequence[StageEvent] | None, outcomes: Mapping[str, Outcome] | None, settings: KpiSettings,
) -> StageHistory | None:
    if events is None:
        return None
    return stage_history(events, stage_table(settings, outcomes), settings.stage_order, settings.zone)


def open_pipeline(deals: Sequence[DealFacts]) -> OpenPipeline:
    """Sum the amounts of every open deal."""
    open_deals = [deal for deal in deals if deal.outcome is Outcome.OPEN]
    return OpenPipeline(
        open_deals=len(open_deals),
        value=total_amount(open_deals),
        without_amount=sum(1 for deal in open_deals if deal.amount is None),
    )


def overdue(deals: Sequence[DealFacts], as_of: date) -> Overdue:
    """List the open deals whose expected close date is before `as_of`, oldest first.

    Ties are ordered by name, then by input position. Not computable when there are
    open deals but none has an expected close date.
    """
    open_deals = [deal for deal in deals if deal.outcome is Outcome.OPEN]
    dated = [deal for deal in open_deals if deal.close_date is not None]
    unchecked = len(open_deals) - len(dated)
    if open_deals and not dated:
        reason = "open deals have no expected close date"
        return Overdue(Status.NOT_COMPUTABLE, reason, None, (), unchecked)

    late = sorted(
        (deal for deal in dated if _day(deal) < as_of),
        key=lambda deal: (_day(deal), deal.name or "", deal.position),
    )
    rows = tuple(_overdue_deal(deal, as_of) for deal in late)
    return Overdue(Status.COMPUTED, None, len(rows), rows, unchecked)


def _overdue_deal(deal: DealFacts, as_of: date) -> OverdueDeal:
    return OverdueDeal(
        position=deal.position,
        name=deal.name,
        stage=deal.stage,
        owner=deal.owner,
        amount=deal.amount,
        close_date=_day(deal),
        days_overdue=(as_of - _day(deal)).days,
    )


def half_change(closed: Sequence[DealFacts], settings: KpiSettings) -> HalfChange:
    """Compare the win rate by count of the two halves of the chosen fiscal year.

    The year is `settings.year`, or else the latest fiscal year with a closed deal.
    """
    start_month = settings.fiscal_year_start_month
    months = _group(closed, lambda deal: fiscal_month(_day(deal), start_month))
    year = settings.year if settings.year is not None else max((month.year for month in months), default=None)
    if year is None:
        return HalfChange(Status.NOT_COMPUTABLE, "no closed deal has a close date", None, None, None)

    first = _half_win_rate(year, 1, months, start_month)
    second = _half_win_rate(year, 2, months, start_month)
    empty = [half.half for half in (first, second) if half.won + half.lost == 0]
    if empty:
        halves = " and ".join(f"H{half}" for half in empty)
        reason = f"no closed deal in {halves} of fiscal year {year}"
        return HalfChange(Status.NOT_COMPUTABLE, reason, year, first, second)
    return HalfChange(Status.COMPUTED, None, year, first, second)


def _half_win_rate(
    year: int, half: int, months: dict[FiscalMonth, list[DealFacts]], start_month: int,
) -> HalfWinRate:
    first_month = (half - 1) * MONTHS_PER_HALF + 1
    rates = []
    for month in range(first_month, first_month + MONTHS_PER_HALF):
        period = FiscalMonth(year, month)
        counts = win_rate(str(period), months.get(period, []))
        calendar_year, calendar_month = calendar_month_of(period, start_month)
        rates.append(MonthWinRate(calendar_year, calendar_month, counts.won, counts.lost))
    return HalfWinRate(
        half=half,
        won=sum(month.won for month in rates),
        lost=sum(month.lost for month in rates),
        months=tuple(rates),
    )


def data_quality(
    deals: Sequence[DealFacts], late: Overdue | None = None, repeated_keys: int = 0, counts: RecordCounts | None = None,
) -> DataQuality:
    """Count the deals whose values the KPIs could not use, with the reconciliation's counts.

    `late` is the overdue KPI, whose count is the number of open deals past their close date.
    """
    return DataQuality(
        deals=len(deals),
        without_amount=sum(1 for deal in deals if deal.amount is None),
        malformed_amount=sum(1 for deal in deals if deal.amount_issue is ValueIssue.MALFORMED),
        without_close_date=sum(1 for deal in deals if deal.close_date is None),
        malformed_close_date=sum(1 for deal in deals if deal.close_date_issue is ValueIssue.MALFORMED),
        closed_without_close_date=sum(1 for deal in deals if deal.outcome.closed and deal.close_date is None),
        without_stage=sum(1 for deal in deals if deal.stage is None),
        without_amount_or_close_date=sum(1 for deal in deals if deal.amount is None or deal.close_date is None),
        without_created_date=sum(1 for deal in deals if deal.created_date is None),
        open_past_close_date=late.count if late is not None else None,
        repeated_keys=repeated_keys,
        suspected_duplicates=counts.suspected_duplicates if counts is not None else None,
        unmatched=counts.unmatched if counts is not None else None,
        without_exchange_rate=sum(1 for deal in deals if deal.conversion is Conversion.NO_RATE),
    )


def _group(deals: Iterable[DealFacts], key: Callable[[DealFacts], K]) -> dict[K, list[DealFacts]]:
    groups: dict[K, list[DealFacts]] = defaultdict(list)
    for deal in deals:
        groups[key(deal)].append(deal)
    return dict(groups)


def _day(deal: DealFacts) -> date:
    """Return the close date of a deal already known to have one."""
    assert deal.close_date is not None
    return deal.close_date
