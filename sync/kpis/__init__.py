"""Pipeline KPIs computed from the reconciled deals: settings, deal facts and results.

Typical use: `facts, problems = facts_from_canonical(values, settings, stage_outcomes)`,
then `compute_kpis(facts, settings)`, then a renderer from `sync.reports.kpis` or the
HTML dashboard from `sync.reports.html`. For the stage history KPIs, build events with
`stage_events_from_hubspot` and `observed_stage_event`, join them with
`merge_stage_events`, and pass them to `compute_kpis(..., stage_events=...)`.
"""

from sync.kpis.breakdowns import Breakdown, BreakdownRow
from sync.kpis.compute import compute_kpis, unique_deals
from sync.kpis.currencies import Conversion, CurrencyNote, RateUse
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
from sync.kpis.history import (
    hubspot_stage_properties,
    merge_stage_events,
    observed_stage_event,
    read_hubspot_stage_events,
    stage_events_from_hubspot,
)
from sync.kpis.periods import Growth, PeriodWinRate, RevenueByPeriod, WinRateChange
from sync.kpis.pipeline import CycleStats, SalesCycle, StagePipeline, Velocity, WeightedPipeline
from sync.kpis.results import KpiReport, RecordCounts, Status
from sync.kpis.stages import StageEvent, StageHistory, StageStep, StageTime

__all__ = [
    "Breakdown",
    "BreakdownRow",
    "Conversion",
    "CurrencyNote",
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
    "RateUse",
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
    "hubspot_stage_properties",
    "load_kpi_settings",
    "merge_stage_events",
    "observed_stage_event",
    "parse_period",
    "read_hubspot_stage_events",
    "stage_events_from_hubspot",
    "unique_deals",
]
