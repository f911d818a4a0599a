"""KPIs of the open pipeline and of the sales cycle: pipeline by stage, weighted
pipeline, sales cycle length and pipeline velocity.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from sync.kpis.definitions import KpiSettings, Outcome
from sync.kpis.facts import DealFacts
from sync.kpis.periods import total_amount
from sync.kpis.results import Status, WinRate, WonRevenue


@dataclass(frozen=True)
class StagePipeline:
    """Open deals of one stage (None: deals without a stage) and their amounts.

    `probability` is the stage's chance of closing won (0 to 1), or None when the
    probability table has no entry for the stage.
    """

    stage: str | None
    open_deals: int
    value: Decimal
    without_amount: int
    probability: float | None

    @property
    def weighted(self) -> Decimal | None:
        if self.probability is None:
            return None
        return self.value * Decimal(str(self.probability))


@dataclass(frozen=True)
class WeightedPipeline:
    """Open pipeline per stage, and its sum weighted by stage probability.

    `value` sums amount x probability over the open deals whose stage has a
    probability. `without_probability` counts the open deals left out because their
    stage has none. `value` is None when the KPI is not computable.
    """

    status: Status
    reason: str | None
    value: Decimal | None
    stages: tuple[StagePipeline, ...]
    without_probability: int


@dataclass(frozen=True)
class CycleStats:
    """Sales cycle lengths in days of the closed deals of one outcome."""

    outcome: Outcome
    deals: int
    median_days: float | None
    mean_days: float | None


@dataclass(frozen=True)
class SalesCycle:
    """Days from created date to close date, for won and for lost deals.

    `without_created_date` counts the closed deals with a close date but no created
    date. `closed_before_created` counts the deals whose close date is before their
    created date. Both are left out of the figures.
    """

    won: CycleStats
    lost: CycleStats
    without_created_date: int
    closed_before_created: int


@dataclass(frozen=True)
class Velocity:
    """Pipeline velocity: the won revenue that the qualified open deals bring per day.

    `value` = qualified open deals x win rate by count x average won deal / median
    sales cycle of won deals, in the report currency per day. It is None when the
    KPI is not computable, and `reason` then says which input is missing.
    """

    status: Status
    reason: str | None
    qualified_deals: int
    win_rate: float | None
    average_won_deal: Decimal | None
    median_cycle_days: float | None

    @property
    def value(self) -> Decimal | None:
        if self.status is Status.NOT_COMPUTABLE:
            return None
        assert self.win_rate is not None and self.average_won_deal is not None and self.median_cycle_days
        per_cycle = Decimal(self.qualified_deals) * Decimal(str(self.win_rate)) * self.average_won_deal
        return per_cycle / Decimal(str(self.median_cycle_days))


def weighted_pipeline(
    deals: Sequence[DealFacts], probabilities: Mapping[str, float], stage_order: Sequence[str],
) -> WeightedPipeline:
    """Group the open deals by stage and weight each stage's amount by its probability.

    Stages follow `stage_order`, then rising probability, then name. Not computable
    when there are open deals but no probability for any stage.
    """
    by_stage: dict[str | None, list[DealFacts]] = defaultdict(list)
    for deal in deals:
        if deal.outcome is Outcome.OPEN:
            by_stage[deal.stage].append(deal)
    stages = tuple(sorted(
        (_stage_pipeline(stage, grouped, probabilities) for stage, grouped in by_stage.items()),
        key=lambda row: _stage_sort_key(row, stage_order),
    ))
    unweighted = sum(row.open_deals for row in stages if row.probability is None)
    if by_stage and unweighted == sum(row.open_deals for row in stages):
        reason = "no open deal's stage has a probability. Pass the pipeline's stage probabilities or set stage_probabilities"
        return WeightedPipeline(Status.NOT_COMPUTABLE, reason, None, stages, unweighted)

    value = sum((row.weighted for row in stages if row.weighted is not None), Decimal(0))
    return WeightedPipeline(Status.COMPUTED, None, value, stages, unweighted)


def _stage_pipeline(stage: str | None, deals: Sequence[DealFacts], probabilities: Mapping[str, float]) -> StagePipeline:
    return StagePipeline(
        stage=stage,
        open_deals=len(deals),
        value=total_amount(deals),
        without_amount=sum(1 for deal in deals if deal.amount is None),
        probability=probabilities.get(stage) if stage is not None else None,
    )


def _stage_sort_key(row: StagePipeline, stage_order: Sequence[str]) -> tuple[int, float, str]:
    position = stage_order.index(row.stage) if row.stage in stage_order else len(stage_order)
    probability = row.probability if row.probability is not None else 2.0
    return position, probability, row.stage or ""


def sales_cycle(closed: Sequence[DealFacts]) -> SalesCycle:
    """Measure the days from created date to close date of the closed deals."""
    without_created = [deal for deal in closed if deal.created_date is None]
    measured = [deal for deal in closed if deal.created_date is not None]
    lengths = {outcome: [] for outcome in (Outcome.WON, Outcome.LOST)}
    backwards = 0
    for deal in measured:
        assert deal.created_date is not None and deal.close_date is not None
        days = (deal.close_date - deal.created_date).days
        if days < 0:
            backwards += 1
            continue
        lengths[deal.outcome].append(days)
    return SalesCycle(
        won=_cycle_stats(Outcome.WON, lengths[Outcome.WON]),
        lost=_cycle_stats(Outcome.LOST, lengths[Outcome.LOST]),
        without_created_date=len(without_created),
        closed_before_created=backwards,
    )


def _cycle_stats(outcome: Outcome, days: list[int]) -> CycleStats:
    if not days:
        return CycleStats(outcome, 0, None, None)
    return CycleStats(outcome, len(days), float(statistics.median(days)), statistics.fmean(days))


def velocity(
    deals: Sequence[DealFacts], settings: KpiSettings, rate: WinRate, revenue: WonRevenue, cycle: SalesCycle,
) -> Velocity:
    """Combine the qualified open deals with the all-time win rate, average won deal and won cycle."""
    qualified = [
        deal for deal in deals
        if deal.outcome is Outcome.OPEN and (settings.qualified_stages is None or deal.stage in settings.qualified_stages)
    ]
    inputs = Velocity(
        Status.COMPUTED, None, len(qualified), rate.by_count.value, revenue.average, cycle.won.median_days,
    )
    missing = _missing_velocity_input(inputs)
    if missing:
        return replace(inputs, status=Status.NOT_COMPUTABLE, reason=missing)
    return inputs


def _missing_velocity_input(inputs: Velocity) -> str | None:
    if inputs.win_rate is None:
        return "no closed deal has a close date, so there is no win rate"
    if inputs.average_won_deal is None:
        return "no won deal has an amount, so there is no average won deal"
    if inputs.median_cycle_days is None:
        return "no won deal has both a created date and a close date, so there is no sales cycle"
    if inputs.median_cycle_days == 0:
        return "the median sales cycle of won deals is 0 days"
    return None

