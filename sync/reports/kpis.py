"""Render a `KpiReport` as a terminal table, a JSON document or a CSV file.

All three read the same typed report and show the same figures. Rates are shown with
their numerator and denominator. A KPI that cannot be measured shows the reason
instead of a zero. JSON carries rates as fractions (0.6315) and money as numbers in the
report currency; the table shows percentages.
"""

from __future__ import annotations

import csv
import dataclasses
import enum
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sync.kpis.currencies import CurrencyNote
from sync.kpis.results import (
    ALL_PERIODS,
    HalfChange,
    HalfWinRate,
    KpiReport,
    Overdue,
    OverdueDeal,
    Ratio,
    Status,
    WinRate,
    WonRevenue,
)
from sync.kpis.stages import StageHistory

MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
CSV_COLUMNS = ("kpi", "period", "value", "numerator", "denominator", "unit", "note")
NOT_COMPUTABLE = "not computable"


class Align(enum.Enum):
    LEFT = "left"
    RIGHT = "right"


# ---------------------------------------------------------------- terminal table


def render_table(report: KpiReport, *, overdue_limit: int = 20) -> str:
    """Render the report as plain text for a terminal.

    At most `overdue_limit` overdue deals are listed; JSON and CSV list them all.
    """
    sections = [
        _heading(report),
        *_optional(_currency_section(report.currency_note)),
        _win_rate_section(report),
        _revenue_section(report),
        _pipeline_section(report),
        _overdue_section(report.overdue, report.as_of, report.currency, overdue_limit),
        _half_section(report.half_change),
        _cycle_section(report),
        *_optional(_stage_history_section(report.stage_history)),
        _quality_section(report),
    ]
    return "\n\n".join(sections) + "\n"


def _optional(section: str | None) -> list[str]:
    return [] if section is None else [section]


def _currency_section(note: CurrencyNote | None) -> str | None:
    if note is None:
        return None
    return f"Currencies\n  {note.text}"


def _heading(report: KpiReport) -> str:
    start = MONTH_NAMES[report.fiscal_year_start_month - 1]
    return (
        f"Pipeline KPIs as of {report.as_of.isoformat()} "
        f"(time zone {report.time_zone}, currency {report.currency}, fiscal year starts in {start})"
    )


def _win_rate_section(report: KpiReport) -> str:
    headers = ["Period", "Won", "Lost", "Win rate by count", "Win rate by amount", "Closed without amount"]
    rows = [
        [rate.period, _count(rate.won), _count(rate.lost), _ratio_text(rate.by_count),
         _percent(rate.by_amount), _count(rate.without_amount)]
        for rate in (report.win_rate, *report.win_rate_by_year)
    ]
    title = "Win rate: won / (won + lost), closed deals by close date"
    text = title + "\n" + _table(headers, rows, [Align.LEFT] + [Align.RIGHT] * 5)
    overall = report.win_rate
    if overall.lost_zero_amount:
        text += (
            f"\n  {_count(overall.lost_zero_amount)} of {_count(overall.lost)} lost deals have amount 0, "
            "so the win rate by amount overstates the share of value won"
        )
    return text


def _revenue_section(report: KpiReport) -> str:
    currency = report.currency
    headers = ["Period", "Won deals", f"Won revenue ({currency})", f"Average won deal ({currency})", "Won without amount"]
    rows = [
        [revenue.period, _count(revenue.won), _money(revenue.revenue),
         _money(revenue.average), _count(revenue.without_amount)]
        for revenue in (report.won_revenue, *report.won_revenue_by_year)
    ]
    title = "Won revenue: sum of won amounts, by close date"
    return title + "\n" + _table(headers, rows, [Align.LEFT] + [Align.RIGHT] * 4)


def _pipeline_section(report: KpiReport) -> str:
    pipeline = report.open_pipeline
    return (
        "Open pipeline: sum of open deal amounts\n"
        f"  {_count(pipeline.open_deals)} open deals, value {_money(pipeline.value)} {report.currency}, "
        f"{_count(pipeline.without_amount)} open deals without amount"
    )


def _overdue_section(overdue: Overdue, as_of: date, currency: str, limit: int) -> str:
    title = f"Overdue open deals: expected close date before {as_of.isoformat()}"
    if overdue.status is Status.NOT_COMPUTABLE:
        return f"{title}\n  {NOT_COMPUTABLE}: {overdue.reason}"

    lines = [title, f"  {_count(overdue.count or 0)} overdue, oldest first"]
    if overdue.unchecked:
        lines.append(f"  {_count(overdue.unchecked)} open deals have no expected close date and were not checked")
    if overdue.deals:
        headers = ["Close date", "Days overdue", f"Amount ({currency})", "Stage", "Owner", "Deal"]
        rows = [_overdue_row(deal) for deal in overdue.deals[:limit]]
        lines.append(_table(headers, rows, [Align.LEFT, Align.RIGHT, Align.RIGHT] + [Align.LEFT] * 3))
    if len(overdue.deals) > limit:
        lines.append(f"  ... and {_count(len(overdue.deals) - limit)} more (see the JSON or CSV report)")
    return "\n".join(lines)


def _overdue_row(deal: OverdueDeal) -> list[str]:
    return [
        deal.close_date.isoformat(), _count(deal.days_overdue), _money(deal.amount),
        deal.stage or "-", deal.owner or "-", deal.name or f"#{deal.position + 1}",
    ]


def _half_section(change: HalfChange) -> str:
    year = f" of fiscal year {change.year}" if change.year is not None else ""
    lines = [f"Win rate change from the first to the second half{year}: by count, by close date"]
    if change.status is Status.NOT_COMPUTABLE:
        lines.append(f"  {NOT_COMPUTABLE}: {change.reason}")
    rows: list[list[str]] = []
    for half in (change.first, change.second):
        if half is not None:
            rows.extend(_half_rows_text(half))
    if rows:
        lines.append(_table(["Period", "Won", "Lost", "Win rate"], rows, [Align.LEFT] + [Align.RIGHT] * 3))
    if change.status is Status.COMPUTED:
        lines.append(
            f"  Change from H1 to H2: pooled {_points(change.pooled_change)}, "
            f"mean of monthly rates {_points(change.monthly_mean_change)}"
        )
    return "\n".join(lines)


def _half_rows_text(half: HalfWinRate) -> list[list[str]]:
    rows = [
        [f"{month.year}-{month.month:02d}", _count(month.won), _count(month.lost), _percent(month.rate)]
        for month in half.months
    ]
    rows.append([f"H{half.half} pooled", _count(half.won), _count(half.lost), _ratio_text(half.pooled)])
    rows.append([f"H{half.half} mean of monthly rates", "", "", _fraction(half.monthly_mean)])
    return rows


def _cycle_section(report: KpiReport) -> str:
    lines = ["Sales cycle, weighted pipeline and velocity"]
    cycle = report.sales_cycle
    if cycle is not None:
        for stats in (cycle.won, cycle.lost):
            median = "-" if stats.median_days is None else f"{stats.median_days:,.1f}"
            mean = "-" if stats.mean_days is None else f"{stats.mean_days:,.1f}"
            lines.append(f"  Sales cycle of {stats.outcome} deals: median {median} days, mean {mean} days "
                         f"({stats.deals:,} deals)")
    weighted = report.weighted_pipeline
    if weighted is not None:
        value = _money(weighted.value) if weighted.value is not None else f"not computable: {weighted.reason}"
        lines.append(f"  Weighted pipeline (amount x stage probability): {value}")
    velocity = report.velocity
    if velocity is not None:
        value = (f"{_money(velocity.value)} {report.currency} per day" if velocity.value is not None
                 else f"not computable: {velocity.reason}")
        lines.append(f"  Pipeline velocity: {value}")
    return "\n".join(lines)


def _stage_history_section(history: StageHistory | None) -> str | None:
    if history is None:
        return None
    lines = [
        "Stage history: time in stage and stage-to-stage conversion",
        f"  {_count(history.deals)} deal histories: {_count(history.won)} won, {_count(history.lost)} lost",
    ]
    if history.times:
        rows = [
            [time.stage, _count(time.stays), _days(time.median_days), _days(time.mean_days), _count(time.in_stage)]
            for time in history.times
        ]
        headers = ["Stage", "Finished stays", "Median days", "Mean days", "In stage now"]
        lines.append("  Time in stage: days from entering a stage to entering the next one")
        lines.append(_table(headers, rows, [Align.LEFT] + [Align.RIGHT] * 4))
    if history.funnel:
        rows = [
            [step.stage, step.next_stage or "won", _count(step.reached), _count(step.advanced),
             _ratio_text(step.conversion), _percent(step.win_rate)]
            for step in history.funnel
        ]
        headers = ["Stage", "Next", "Reached", "Advanced", "Conversion", "Won from here"]
        lines.append("  Stage-to-stage conversion: deals that reached the next stage / deals that reached this one")
        lines.append(_table(headers, rows, [Align.LEFT] * 2 + [Align.RIGHT] * 4))
    return "\n".join(lines)


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _quality_section(report: KpiReport) -> str:
    quality = report.data_quality
    rows = [
        ["Deals", _count(quality.deals)],
        ["Without amount (of which malformed)", f"{_count(quality.without_amount)} ({_count(quality.malformed_amount)})"],
        ["Without close date (of which malformed)",
         f"{_count(quality.without_close_date)} ({_count(quality.malformed_close_date)})"],
        ["Closed without close date (left out of win rate and revenue)", _count(quality.closed_without_close_date)],
        ["Without stage (counted as open)", _count(quality.without_stage)],
    ]
    if quality.without_exchange_rate:
        rows.insert(2, ["Amount in a currency without an exchange rate (left out of money figures)",
                        _count(quality.without_exchange_rate)])
    return "Data quality\n" + _table(["Check", "Deals"], rows, [Align.LEFT, Align.RIGHT])


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], aligns: Sequence[Align]) -> str:
    """Lay out rows in columns two spaces apart, indented by two spaces."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = []
    for row in [headers, *rows]:
        cells = [
            cell.ljust(width) if align is Align.LEFT else cell.rjust(width)
            for cell, width, align in zip(row, widths, aligns, strict=True)
        ]
        lines.append(("  " + "  ".join(cells)).rstrip())
    return "\n".join(lines)


def _count(value: int) -> str:
    return f"{value:,}"


def _money(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _percent(ratio: Ratio) -> str:
    return _fraction(ratio.value)


def _fraction(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f} %"


def _ratio_text(ratio: Ratio) -> str:
    if ratio.value is None:
        return "-"
    return f"{_percent(ratio)} ({_number(ratio.numerator)}/{_number(ratio.denominator)})"


def _number(value: Decimal) -> str:
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"


def _points(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f} percentage points"


# ---------------------------------------------------------------- JSON


def to_json(report: KpiReport) -> dict[str, Any]:
    """Return the report as plain JSON types: dicts, lists, str, int, float and None."""
    return {
        "as_of": report.as_of.isoformat(),
        "time_zone": report.time_zone,
        "currency": report.currency,
        "fiscal_year_start_month": report.fiscal_year_start_month,
        "win_rate": _win_rate_json(report.win_rate),
        "win_rate_by_year": [_win_rate_json(rate) for rate in report.win_rate_by_year],
        "won_revenue": _revenue_json(report.won_revenue),
        "won_revenue_by_year": [_revenue_json(revenue) for revenue in report.won_revenue_by_year],
        "open_pipeline": {
            "open_deals": report.open_pipeline.open_deals,
            "value": _json_money(report.open_pipeline.value),
            "without_amount": report.open_pipeline.without_amount,
        },
        "overdue": _overdue_json(report.overdue),
        "half_change": _half_change_json(report.half_change),
        "data_quality": dict(vars(report.data_quality)),
        **{name: _plain(getattr(report, name)) for name in DEEPER_KPIS},
        "stage_history": _stage_history_json(report.stage_history),
        "currency_note": _currency_json(report.currency_note),
    }


# KpiReport fields that to_json renders generically, from their dataclasses.
DEEPER_KPIS = ("win_rate_by_month", "revenue_by_period", "year_on_year", "win_rate_change", "weighted_pipeline",
               "sales_cycle", "velocity", "breakdowns")


def _stage_history_json(history: StageHistory | None) -> dict[str, Any] | None:
    if history is None:
        return None
    funnel = [
        {**_plain(step), "conversion": _ratio_json(step.conversion), "won_from_here": _ratio_json(step.win_rate)}
        for step in history.funnel
    ]
    return {
        "deals": history.deals,
        "won": history.won,
        "lost": history.lost,
        "times": _plain(history.times),
        "funnel": funnel,
    }


def _currency_json(note: CurrencyNote | None) -> dict[str, Any] | None:
    if note is None:
        return None
    return {
        "currency": note.currency,
        "converted": [{"currency": use.currency, "rate": str(use.rate), "deals": use.deals} for use in note.converted],
        "without_rate": [{"currency": code, "deals": deals} for code, deals in note.without_rate],
        "note": note.text,
    }


def _plain(value: Any) -> Any:
    """Turn KPI dataclasses into JSON types: Decimal to number, dates to ISO text, enums to text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal):
        return _json_number(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _ratio_json(ratio: Ratio) -> dict[str, Any]:
    return {
        "value": ratio.value,
        "numerator": _json_number(ratio.numerator),
        "denominator": _json_number(ratio.denominator),
    }


def _win_rate_json(rate: WinRate) -> dict[str, Any]:
    return {
        "period": rate.period,
        "won": rate.won,
        "lost": rate.lost,
        "by_count": _ratio_json(rate.by_count),
        "by_amount": _ratio_json(rate.by_amount),
        "closed_without_amount": rate.without_amount,
        "lost_with_zero_amount": rate.lost_zero_amount,
    }


def _revenue_json(revenue: WonRevenue) -> dict[str, Any]:
    return {
        "period": revenue.period,
        "won": revenue.won,
        "revenue": _json_money(revenue.revenue),
        "average_won_deal": _json_money(revenue.average),
        "won_without_amount": revenue.without_amount,
    }


def _overdue_json(overdue: Overdue) -> dict[str, Any]:
    deals = [
        {
            "position": deal.position,
            "name": deal.name,
            "stage": deal.stage,
            "owner": deal.owner,
            "amount": _json_money(deal.amount),
            "close_date": deal.close_date.isoformat(),
            "days_overdue": deal.days_overdue,
        }
        for deal in overdue.deals
    ]
    return {
        "status": overdue.status.value,
        "reason": overdue.reason,
        "count": overdue.count,
        "unchecked_without_close_date": overdue.unchecked,
        "deals": deals,
    }


def _half_change_json(change: HalfChange) -> dict[str, Any]:
    return {
        "status": change.status.value,
        "reason": change.reason,
        "year": change.year,
        "first_half": _half_json(change.first),
        "second_half": _half_json(change.second),
        "pooled_change_points": change.pooled_change,
        "monthly_mean_change_points": change.monthly_mean_change,
    }


def _half_json(half: HalfWinRate | None) -> dict[str, Any] | None:
    if half is None:
        return None
    months = [
        {"year": month.year, "month": month.month, "won": month.won, "lost": month.lost, "rate": month.rate.value}
        for month in half.months
    ]
    return {"half": half.half, "pooled": _ratio_json(half.pooled), "monthly_mean": half.monthly_mean, "months": months}


def _json_money(value: Decimal | None) -> float | None:
    return None if value is None else float(round(value, 2))


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


# ---------------------------------------------------------------- CSV


def write_csv(report: KpiReport, path: Path) -> None:
    """Write the report to `path` as one CSV row per figure (columns: `CSV_COLUMNS`).

    Rates are fractions, money is in the report currency with two decimals, and a KPI
    that is not computable has an empty value and the reason in `note`.
    """
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(csv_rows(report))


def csv_rows(report: KpiReport) -> list[list[str]]:
    """Return the CSV rows of `write_csv`, without the header."""
    currency = report.currency
    rows: list[list[str]] = []
    for rate in (report.win_rate, *report.win_rate_by_year):
        rows.append(_ratio_row("win_rate_by_count", rate.period, rate.by_count))
        rows.append(_ratio_row("win_rate_by_amount", rate.period, rate.by_amount,
                               note=_amount_rate_note(rate)))
    for revenue in (report.won_revenue, *report.won_revenue_by_year):
        rows.append(["won_revenue", revenue.period, _csv_money(revenue.revenue), str(revenue.won), "", currency,
                     f"{revenue.without_amount} won deals without amount"])
        rows.append(["average_won_deal", revenue.period, _csv_money(revenue.average), "", "", currency, ""])
    pipeline = report.open_pipeline
    rows.append(["open_pipeline_value", ALL_PERIODS, _csv_money(pipeline.value), "", "", currency,
                 f"{pipeline.open_deals} open deals, {pipeline.without_amount} without amount"])
    rows.extend(_overdue_rows(report.overdue, currency))
    rows.extend(_half_rows(report.half_change))
    rows.extend(_stage_history_rows(report.stage_history))
    rows.extend(_currency_rows(report.currency_note))
    for name, value in vars(report.data_quality).items():
        note = "not supplied" if value is None else ""
        rows.append([f"data_quality_{name}", ALL_PERIODS, "" if value is None else str(value), "", "", "deals", note])
    return rows


def _stage_history_rows(history: StageHistory | None) -> list[list[str]]:
    """Rows of time in stage (days) and of stage conversion, one per stage, naming the stage in `note`."""
    if history is None:
        return []
    rows = []
    for time in history.times:
        note = f"stage {time.stage}, {time.stays} finished stays, {time.in_stage} in stage now"
        for kpi, days in (("stage_time_median", time.median_days), ("stage_time_mean", time.mean_days)):
            rows.append([kpi, ALL_PERIODS, "" if days is None else f"{days:.4f}", "", "", "days", note])
    for step in history.funnel:
        note = f"stage {step.stage} to {step.next_stage or 'won'}"
        rows.append(_ratio_row("stage_conversion", ALL_PERIODS, step.conversion, note=note))
        rows.append(_ratio_row("stage_won_from_here", ALL_PERIODS, step.win_rate, note=f"stage {step.stage}"))
    return rows


def _currency_rows(note: CurrencyNote | None) -> list[list[str]]:
    if note is None:
        return []
    rows = [
        ["exchange_rate", ALL_PERIODS, str(use.rate), "", "", f"{note.currency} per {use.currency}",
         f"{use.deals} deals converted from {use.currency}"]
        for use in note.converted
    ]
    rows.extend(
        ["amount_without_exchange_rate", ALL_PERIODS, str(deals), "", "", "deals",
         f"{code} amounts left out of money figures"]
        for code, deals in note.without_rate
    )
    return rows



def _ratio_row(kpi: str, period: str, ratio: Ratio, note: str = "") -> list[str]:
    value = "" if ratio.value is None else f"{ratio.value:.6f}"
    return [kpi, period, value, _csv_number(ratio.numerator), _csv_number(ratio.denominator), "fraction", note]


def _amount_rate_note(rate: WinRate) -> str:
    note = f"{rate.without_amount} closed deals without amount left out"
    if rate.lost_zero_amount:
        note += f", and {rate.lost_zero_amount} lost deals have amount 0"
    return note


def _overdue_rows(overdue: Overdue, currency: str) -> list[list[str]]:
    if overdue.status is Status.NOT_COMPUTABLE:
        return [["overdue_open_deals", ALL_PERIODS, "", "", "", "deals", f"{NOT_COMPUTABLE}: {overdue.reason}"]]
    note = f"{overdue.unchecked} open deals without expected close date not checked"
    rows = [["overdue_open_deals", ALL_PERIODS, str(overdue.count), "", "", "deals", note]]
    for deal in overdue.deals:
        label = deal.name or f"#{deal.position + 1}"
        rows.append(["overdue_open_deal", deal.close_date.isoformat(), _csv_money(deal.amount), "", "", currency,
                     f"{label}, {deal.days_overdue} days overdue, stage {deal.stage or '-'}"])
    return rows


def _half_rows(change: HalfChange) -> list[list[str]]:
    period = "" if change.year is None else str(change.year)
    rows = []
    for half in (change.first, change.second):
        if half is None:
            continue
        rows.append(_ratio_row("win_rate_pooled", f"{period}-H{half.half}", half.pooled))
        mean = "" if half.monthly_mean is None else f"{half.monthly_mean:.6f}"
        rows.append(["win_rate_monthly_mean", f"{period}-H{half.half}", mean, "", "", "fraction", ""])
        rows.extend(_ratio_row("win_rate_month", f"{month.year}-{month.month:02d}", month.rate) for month in half.months)
    note = "" if change.status is Status.COMPUTED else f"{NOT_COMPUTABLE}: {change.reason}"
    for kpi, value in (("win_rate_change_pooled", change.pooled_change),
                       ("win_rate_change_monthly_mean", change.monthly_mean_change)):
        rows.append([kpi, period, "" if value is None else f"{value:.4f}", "", "", "percentage points", note])
    return rows


def _csv_money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _csv_number(value: Decimal) -> str:
    return f"{value:f}" if value != value.to_integral_value() else str(int(value))
