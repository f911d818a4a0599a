"""Pipeline KPIs computed from the reconciled deals: settings, deal facts and results.

Typical use: `facts, problems = facts_from_canonical(values, settings, stage_outcomes)`,
then `compute_kpis(facts, settings)`, then a renderer from `sync.reports.kpis` or the
HTML dashboard from `sync.reports.html`.
"""

from sync.kpis.breakdowns import Breakdown, BreakdownRow
from sync.kpis.compute import compute_kpis, unique_deals
from sync.kpis.definitions import (
    DEFAULT_STAGE_OUTCOMES,
    FiscalMonth,
    Grain,
    KpiSettings,
    Outcome,
    fiscal_month,
    load_kpi_settings,
    parse_period,
)
from sync.kpis.facts import DealFacts, ValueIssue, facts_from_canonical
from sync.kpis.periods import Growth, PeriodWinRate, RevenueByPeriod, WinRateChange
from sync.kpis.pipeline import CycleStats, SalesCycle, StagePipeline, Velocity, WeightedPipeline
from sync.kpis.results import KpiReport, RecordCounts, Status
from sync.kpis.stages import StageEvent, StageHistory, StageStep, StageTime

__all__ = [
    "Breakdown",
    "BreakdownRow",
    "CycleStats",
    "DEFAULT_STAGE_OUTCOMES",
    "DealFacts",
    "FiscalMonth",
    "Grain",
    "Growth",
    "KpiReport",
    "KpiSettings",
    "Outcome",
    "PeriodWinRate",
    "RecordCounts",
    "RevenueByPeriod",
    "SalesCycle",
    "StageEvent",
    "StageHistory",
    "StagePipeline",
    "StageStep",
    "StageTime",
    "Status",
    "ValueIssue",
    "Velocity",
    "WeightedPipeline",
    "WinRateChange",
    "compute_kpis",
    "facts_from_canonical",
    "fiscal_month",
    "load_kpi_settings",
    "parse_period",
    "unique_deals",
]
