"""Pipeline KPIs computed from the reconciled deals: settings, deal facts and results.

Typical use: `facts, problems = facts_from_canonical(values, settings, stage_outcomes)`,
then `compute_kpis(facts, settings)`, then a renderer from `sync.reports.kpis`.
"""

from sync.kpis.compute import compute_kpis
from sync.kpis.definitions import (
    DEFAULT_STAGE_OUTCOMES,
    FiscalMonth,
    KpiSettings,
    Outcome,
    fiscal_month,
    load_kpi_settings,
)
from sync.kpis.facts import DealFacts, ValueIssue, facts_from_canonical
from sync.kpis.results import KpiReport, Status

__all__ = [
    "DEFAULT_STAGE_OUTCOMES",
    "DealFacts",
    "FiscalMonth",
    "KpiReport",
    "KpiSettings",
    "Outcome",
    "Status",
    "ValueIssue",
    "compute_kpis",
    "facts_from_canonical",
    "fiscal_month",
    "load_kpi_settings",
]
