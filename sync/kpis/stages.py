"""KPIs from deal stage history: time in stage and stage-to-stage conversion.

The caller supplies the history as `StageEvent`s: one event each time a deal entered a
stage, from HubSpot's `hs_date_entered_<stage>` properties or from the stage changes
that crmsync observed. A deal's events are ordered by time, and events with the same
time keep their input order.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from sync.kpis.definitions import Outcome
from sync.kpis.results import Ratio

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class StageEvent:
    """A deal entering a stage. A date without time is midnight in the reporting time zone."""

    deal_key: str
    stage: str
    entered_at: date | datetime


@dataclass(frozen=True)
class StageTime:
    """Days that deals stayed in one stage before they entered the next one.

    Only finished stays count. `in_stage` counts the deals whose last event is this
    open stage, so their stay has not ended.
    """

    stage: str
    stays: int
    median_days: float | None
    mean_days: float | None
    in_stage: int


@dataclass(frozen=True)
class StageStep:
    """One step of the stage funnel: the deals that reached `stage` and moved past it.

    A deal reached a stage when it entered that stage or any later one in the funnel
    order, so a skipped stage counts as passed. `next_stage` is the next open stage, or
    None for the last open stage, whose next step is a won deal.
    """

    stage: str
    next_stage: str | None
    reached: int
    advanced: int
    won: int

    @property
    def conversion(self) -> Ratio:
        return Ratio(Decimal(self.advanced), Decimal(self.reached))

    @property
    def win_rate(self) -> Ratio:
        return Ratio(Decimal(self.won), Decimal(self.reached))


@dataclass(frozen=True)
class StageHistory:
    """Time in stage and the funnel over the open stages, from `deals` deal histories."""

    deals: int
    won: int
    lost: int
    times: tuple[StageTime, ...]
    funnel: tuple[StageStep, ...]


def stage_history(
    events: Sequence[StageEvent], outcomes: Mapping[str, Outcome], stage_order: Sequence[str], zone: ZoneInfo,
) -> StageHistory:
    """Compute time in stage and stage conversion from the stage events of many deals.

    `outcomes` maps stages to outcomes, and a stage missing from it is open. A deal's
    outcome is the outcome of the last stage it entered. `stage_order` orders the open
    stages of the funnel, and open stages it leaves out follow in the order that the
    history visits them.
    """
    histories = _histories(events, zone)
    open_stages = _open_stage_order(histories, outcomes, stage_order)
    final = {key: outcomes.get(history[-1][1], Outcome.OPEN) for key, history in histories.items()}
    return StageHistory(
        deals=len(histories),
        won=sum(1 for outcome in final.values() if outcome is Outcome.WON),
        lost=sum(1 for outcome in final.values() if outcome is Outcome.LOST),
        times=_stage_times(histories, outcomes, open_stages),
        funnel=_funnel(histories, final, open_stages),
    )


def _histories(events: Sequence[StageEvent], zone: ZoneInfo) -> dict[str, list[tuple[datetime, str]]]:
    by_deal: dict[str, list[tuple[datetime, int, str]]] = defaultdict(list)
    for position, event in enumerate(events):
        by_deal[event.deal_key].append((entered_moment(event.entered_at, zone), position, event.stage))
    return {key: [(moment, stage) for moment, _, stage in sorted(items)] for key, items in by_deal.items()}


def entered_moment(value: date | datetime, zone: ZoneInfo) -> datetime:
    """Return a stage entry time as an aware datetime: a date is midnight in `zone`, and naive wall time is in `zone`."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(), tzinfo=zone)
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value


def _open_stage_order(
    histories: Mapping[str, list[tuple[datetime, str]]], outcomes: Mapping[str, Outcome], stage_order: Sequence[str],
) -> list[str]:
    """Order the open stages: `stage_order` first, then the rest by their mean first position in a history."""
    positions: dict[str, list[int]] = defaultdict(list)
    for history in histories.values():
        first_seen: dict[str, int] = {}
        for index, (_, stage) in enumerate(history):
            first_seen.setdefault(stage, index)
        for stage, index in first_seen.items():
            positions[stage].append(index)
    visited = [stage for stage in positions if outcomes.get(stage, Outcome.OPEN) is Outcome.OPEN]
    rest = sorted((stage for stage in visited if stage not in stage_order), key=lambda stage: statistics.fmean(positions[stage]))
    return [stage for stage in stage_order if outcomes.get(stage, Outcome.OPEN) is Outcome.OPEN] + rest


def _stage_times(
    histories: Mapping[str, list[tuple[datetime, str]]], outcomes: Mapping[str, Outcome], open_stages: Sequence[str],
) -> tuple[StageTime, ...]:
    stays: dict[str, list[float]] = defaultdict(list)
    current: dict[str, int] = defaultdict(int)
    for history in histories.values():
        for (entered, stage), (left, _) in zip(history, history[1:], strict=False):
            stays[stage].append((left - entered).total_seconds() / SECONDS_PER_DAY)
        last_stage = history[-1][1]
        if outcomes.get(last_stage, Outcome.OPEN) is Outcome.OPEN:
            current[last_stage] += 1
    ordered = list(open_stages) + sorted(stage for stage in stays if stage not in open_stages)
    return tuple(_stage_time(stage, stays[stage], current[stage]) for stage in ordered)


def _stage_time(stage: str, days: list[float], in_stage: int) -> StageTime:
    if not days:
        return StageTime(stage, 0, None, None, in_stage)
    return StageTime(stage, len(days), float(statistics.median(days)), statistics.fmean(days), in_stage)


def _funnel(
    histories: Mapping[str, list[tuple[datetime, str]]], final: Mapping[str, Outcome], open_stages: Sequence[str],
) -> tuple[StageStep, ...]:
    furthest = {key: _furthest_index(history, open_stages, final[key]) for key, history in histories.items()}
    steps = []
    for index, stage in enumerate(open_stages):
        reached = [key for key, reach in furthest.items() if reach >= index]
        last = index == len(open_stages) - 1
        advanced = (
            sum(1 for key in reached if final[key] is Outcome.WON) if last
            else sum(1 for key in reached if furthest[key] > index)
        )
        steps.append(StageStep(
            stage=stage,
            next_stage=None if last else open_stages[index + 1],
            reached=len(reached),
            advanced=advanced,
            won=sum(1 for key in reached if final[key] is Outcome.WON),
        ))
    return tuple(steps)


def _furthest_index(history: list[tuple[datetime, str]], open_stages: Sequence[str], outcome: Outcome) -> int:
    """Return the index in `open_stages` of the furthest open stage a deal entered, -1 for none.

    A won deal passed every open stage, so it counts as having reached the last one.
    """
    if outcome is Outcome.WON:
        return len(open_stages) - 1
    indexes = [open_stages.index(stage) for _, stage in history if stage in open_stages]
    return max(indexes, default=-1)
