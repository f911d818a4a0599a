"""Render the KPI dashboard and the reconciliation report as self-contained HTML pages.

Each page is one file that works offline: the plotly.js bundle is inlined in the page
(about 4.7 MB with plotly 6), and the styles are plain CSS in a `<style>` element. Every
value that comes from a CRM record or a setting is escaped with `html.escape`, so record
values cannot inject markup.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from decimal import Decimal
from html import escape
from typing import Any

import plotly.graph_objects as go

from sync.kpis.breakdowns import Breakdown
from sync.kpis.definitions import Grain
from sync.kpis.results import KpiReport, Ratio, Status, WonRevenue
from sync.engine.plan import COUNT_LABELS

# Rows listed per record-level table. The JSON reports keep every row.
HTML_ROW_LIMIT = 500
CHART_HEIGHT_PX = 360
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1f2933;
       background: #f5f7fa; }
header { background: #243b53; color: #fff; padding: 20px 32px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 0; color: #d9e2ec; font-size: 14px; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 32px 48px; }
section { background: #fff; border-radius: 8px; box-shadow: 0 1px 3px rgba(0,0,0,.08); padding: 16px 20px;
          margin-bottom: 20px; }
h2 { font-size: 18px; margin: 0 0 12px; }
h3 { font-size: 15px; margin: 16px 0 8px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 12px;
         margin-bottom: 20px; }
.card { background: #fff; border-radius: 8px; box-shadow: 0 1px 3px rgba(0,0,0,.08); padding: 14px 16px; }
.card .label { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: #627d98; }
.card .value { font-size: 26px; font-weight: 600; margin-top: 4px; }
.card .detail { font-size: 12px; color: #829ab1; margin-top: 2px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 20px; }
.grid > section { min-width: 0; overflow: hidden; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e4e7eb; vertical-align: top; }
th { background: #f0f4f8; font-weight: 600; }
td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; }
tr.conflict td { background: #fff5f5; }
.note { color: #627d98; font-size: 13px; }
.empty { color: #829ab1; font-style: italic; }
"""


class Align(enum.Enum):
    LEFT = "left"
    RIGHT = "right"


# ---------------------------------------------------------------- KPI dashboard


def render_kpi_dashboard(report: KpiReport) -> str:
    """Render the KPI report as one HTML page: headline figures, charts and tables.

    The charts show the win rate by month, won revenue by year, quarter and month, and
    the open pipeline by stage. The first chart carries the inlined plotly.js bundle.
    """
    charts = [
        _chart_section("Win rate by month", _win_rate_figure(report), include_js=True),
        _chart_section("Won revenue by period", _revenue_figure(report), include_js=False),
        _chart_section("Open pipeline by stage", _pipeline_figure(report), include_js=False),
    ]
    body = [
        _cards(_headline_figures(report)),
        _note(report.currency_note.text) if report.currency_note is not None else "",
        '<div class="grid">' + "".join(charts) + "</div>",
        _overdue_table(report),
        _change_section(report),
        _cycle_section(report),
        _funnel_section(report),
        *(_breakdown_section(breakdown, report.currency) for breakdown in report.breakdowns),
        _quality_section(report),
    ]
    subtitle = (
        f"As of {report.as_of.isoformat()}, time zone {report.time_zone}, amounts in {report.currency}, "
        f"fiscal year starts in month {report.fiscal_year_start_month}"
    )
    return _page("Pipeline KPIs", subtitle, body)


def _headline_figures(report: KpiReport) -> list[tuple[str, str, str]]:
    rate = report.win_rate
    weighted = report.weighted_pipeline
    velocity = report.velocity
    cycle = report.sales_cycle
    return [
        ("Win rate", _percent(rate.by_count), f"{rate.won:,} won of {rate.won + rate.lost:,} closed"),
        ("Won revenue", _money(report.won_revenue.revenue), f"{report.won_revenue.won:,} won deals"),
        ("Average won deal", _money(report.won_revenue.average), report.currency),
        ("Open pipeline", _money(report.open_pipeline.value), f"{report.open_pipeline.open_deals:,} open deals"),
        ("Weighted pipeline", _money(weighted.value) if weighted else "-",
         _reason_or(weighted.reason if weighted else None, "amount x stage probability")),
        ("Pipeline velocity", _money(velocity.value) if velocity else "-",
         _reason_or(velocity.reason if velocity else None, f"{report.currency} per day")),
        ("Sales cycle, won", _days(cycle.won.median_days) if cycle else "-", "median, created to close"),
        ("Overdue open deals", "-" if report.overdue.count is None else f"{report.overdue.count:,}",
         _reason_or(report.overdue.reason, "open deals past their close date")),
    ]


def _cards(figures: Iterable[tuple[str, str, str]]) -> str:
    cards = [
        f'<div class="card"><div class="label">{escape(label)}</div><div class="value">{escape(value)}</div>'
        f'<div class="detail">{escape(detail)}</div></div>'
        for label, value, detail in figures
    ]
    return '<div class="cards">' + "".join(cards) + "</div>"


def _win_rate_figure(report: KpiReport) -> go.Figure:
    months = report.win_rate_by_month
    figure = go.Figure(go.Scatter(
        x=[rate.period for rate in months],
        y=[_fraction_points(rate.by_count.value) for rate in months],
        customdata=[[rate.won, rate.won + rate.lost] for rate in months],
        mode="lines+markers",
        connectgaps=True,
        name="Win rate",
        hovertemplate="%{x}: %{y:.1f} %% (%{customdata[0]} of %{customdata[1]})<extra></extra>",
    ))
    figure.update_yaxes(title_text="won / (won + lost), %", rangemode="tozero")
    figure.update_xaxes(type="category")
    return _styled(figure)


def _revenue_figure(report: KpiReport) -> go.Figure:
    by_period = report.revenue_by_period
    series: dict[Grain, Sequence[WonRevenue]] = {}
    if by_period is not None:
        series = {Grain.YEAR: by_period.years, Grain.QUARTER: by_period.quarters, Grain.MONTH: by_period.months}
    figure = go.Figure()
    for grain, rows in series.items():
        figure.add_trace(go.Bar(
            x=[row.period for row in rows], y=[float(row.revenue) for row in rows], name=grain.value.capitalize(),
            visible=grain is Grain.MONTH, hovertemplate="%{x}: %{y:,.2f}<extra></extra>",
        ))
    buttons = [
        {"label": grain.value.capitalize(), "method": "update",
         "args": [{"visible": [other is grain for other in series]}]}
        for grain in series
    ]
    figure.update_layout(updatemenus=[{"buttons": buttons, "type": "buttons", "direction": "right",
                                       "x": 0, "y": 1.18, "xanchor": "left", "active": len(buttons) - 1}])
    figure.update_xaxes(type="category")
    figure.update_yaxes(title_text=f"won revenue ({report.currency})")
    return _styled(figure)


def _pipeline_figure(report: KpiReport) -> go.Figure:
    stages = report.weighted_pipeline.stages if report.weighted_pipeline else ()
    labels = [stage.stage or "(no stage)" for stage in stages]
    figure = go.Figure([
        go.Bar(x=labels, y=[float(stage.value) for stage in stages], name="Open amount",
               customdata=[stage.open_deals for stage in stages],
               hovertemplate="%{x}: %{y:,.2f} (%{customdata} deals)<extra></extra>"),
        go.Bar(x=labels, y=[float(stage.weighted or 0) for stage in stages], name="Weighted by probability",
               hovertemplate="%{x}: %{y:,.2f}<extra></extra>"),
    ])
    figure.update_layout(barmode="group")
    figure.update_xaxes(type="category")
    figure.update_yaxes(title_text=report.currency)
    return _styled(figure)


def _overdue_table(report: KpiReport) -> str:
    overdue = report.overdue
    title = f"Overdue open deals (expected close date before {report.as_of.isoformat()}), oldest first"
    if overdue.status is Status.NOT_COMPUTABLE:
        return _section(title, f'<p class="empty">Not computable: {escape(overdue.reason or "")}</p>')
    rows = [
        [deal.close_date.isoformat(), f"{deal.days_overdue:,}", _money(deal.amount), deal.stage or "-",
         deal.owner or "-", deal.name or f"#{deal.position + 1}"]
        for deal in overdue.deals
    ]
    headers = ["Close date", "Days overdue", f"Amount ({report.currency})", "Stage", "Owner", "Deal"]
    aligns = [Align.LEFT, Align.RIGHT, Align.RIGHT, Align.LEFT, Align.LEFT, Align.LEFT]
    note = f"{overdue.unchecked:,} open deals have no expected close date and were not checked." if overdue.unchecked else ""
    return _section(title, _note(note) + _table(headers, rows, aligns, empty="No open deal is overdue."))


def _change_section(report: KpiReport) -> str:
    change = report.win_rate_change
    if change is None:
        return ""
    rows = [
        [rate.period, f"{rate.won:,}", f"{rate.lost:,}", _percent(rate.pooled), _fraction(rate.monthly_mean)]
        for rate in (change.first, change.second) if rate is not None
    ]
    headers = ["Period", "Won", "Lost", "Pooled win rate", "Mean of monthly rates"]
    table = _table(headers, rows, [Align.LEFT] + [Align.RIGHT] * 4)
    if change.status is Status.NOT_COMPUTABLE:
        summary = f"Not computable: {change.reason}"
    else:
        summary = (f"Change: pooled {_points(change.pooled_change)}, "
                   f"mean of monthly rates {_points(change.monthly_mean_change)}.")
    growth = _growth_table(report)
    return _section("Win rate change and revenue growth", table + _note(summary) + growth)


def _growth_table(report: KpiReport) -> str:
    rows = [
        [growth.year, _money(growth.previous_revenue), _money(growth.revenue),
         "-" if growth.change is None else f"{growth.change * 100:+.1f} %"]
        for growth in report.year_on_year
    ]
    headers = ["Fiscal year", "Previous year revenue", "Revenue", "Growth"]
    return "<h3>Year-on-year growth of won revenue</h3>" + _table(
        headers, rows, [Align.LEFT] + [Align.RIGHT] * 3, empty="Needs won deals in at least two fiscal years.",
    )


def _cycle_section(report: KpiReport) -> str:
    cycle = report.sales_cycle
    if cycle is None:
        return ""
    rows = [
        [stats.outcome.value, f"{stats.deals:,}", _days(stats.median_days), _days(stats.mean_days)]
        for stats in (cycle.won, cycle.lost)
    ]
    table = _table(["Outcome", "Deals measured", "Median", "Mean"], rows, [Align.LEFT] + [Align.RIGHT] * 3)
    note = (f"{cycle.without_created_date:,} closed deals without created date and "
            f"{cycle.closed_before_created:,} closed before their created date are left out.")
    return _section("Sales cycle: days from created date to close date", table + _note(note))


def _funnel_section(report: KpiReport) -> str:
    history = report.stage_history
    if history is None:
        return ""
    funnel = [
        [step.stage, step.next_stage or "won", f"{step.reached:,}", f"{step.advanced:,}",
         _percent(step.conversion), _percent(step.win_rate)]
        for step in history.funnel
    ]
    funnel_headers = ["Stage", "Next", "Reached", "Advanced", "Conversion", "Won from here"]
    times = [
        [time.stage, f"{time.stays:,}", _days(time.median_days), _days(time.mean_days), f"{time.in_stage:,}"]
        for time in history.times
    ]
    time_headers = ["Stage", "Finished stays", "Median", "Mean", "In stage now"]
    body = (
        _note(f"{history.deals:,} deal histories: {history.won:,} won, {history.lost:,} lost.")
        + "<h3>Stage-to-stage conversion</h3>" + _table(funnel_headers, funnel, [Align.LEFT] * 2 + [Align.RIGHT] * 4)
        + "<h3>Time in stage</h3>" + _table(time_headers, times, [Align.LEFT] + [Align.RIGHT] * 4)
    )
    return _section("Stage history", body)


def _breakdown_section(breakdown: Breakdown, currency: str) -> str:
    rows = [
        [row.value or "(empty)", f"{row.deals:,}", f"{row.won:,}", f"{row.lost:,}", _percent(row.win_rate),
         _money(row.won_revenue), f"{row.open_deals:,}", _money(row.open_value)]
        for row in breakdown.rows
    ]
    headers = [breakdown.name.capitalize(), "Deals", "Won", "Lost", "Win rate", f"Won revenue ({currency})",
               "Open deals", f"Open amount ({currency})"]
    title = f"By {breakdown.name} (field {breakdown.field})"
    return _section(title, _table(headers, rows, [Align.LEFT] + [Align.RIGHT] * 7))


def _quality_section(report: KpiReport) -> str:
    rows = [[name.replace("_", " ").capitalize(), "not supplied" if value is None else f"{value:,}"]
            for name, value in vars(report.data_quality).items()]
    return _section("Data quality", _table(["Check", "Count"], rows, [Align.LEFT, Align.RIGHT]))


# ---------------------------------------------------------------- reconciliation report


def render_reconciliation_html(document: dict[str, Any]) -> str:
    """Render a reconciliation report document as one HTML page.

    `document` is the dictionary that `sync.reports.reconciliation.to_json` returns.
    The page shows the counts per kind first, as a table and a bar chart, then each
    kind's field changes with the rule that decided them, creates, unmatched records,
    suspected duplicates, possible matches and the record errors.
    """
    kinds: dict[str, Any] = document.get("kinds", {})
    body = [
        _section("Counts per kind", _counts_table(kinds)),
        _chart_section("Records per bucket and kind", _counts_figure(kinds), include_js=True),
        *(_kind_section(kind, section) for kind, section in kinds.items()),
        _errors_section(document.get("record_errors", [])),
    ]
    title = "Dry-run reconciliation report" if document.get("mode") == "dry_run" else "Sync report"
    subtitle = f"Run {document.get('run_id', '-')}, generated at {document.get('generated_at', '-')}"
    return _page(title, subtitle, body)


def _count_names(kinds: dict[str, Any]) -> list[str]:
    known = [name for name in COUNT_LABELS if any(name in section["counts"] for section in kinds.values())]
    extra = sorted({name for section in kinds.values() for name in section["counts"]} - set(known))
    return known + extra


def _counts_table(kinds: dict[str, Any]) -> str:
    rows = [
        [COUNT_LABELS.get(name, name)] + [f"{section['counts'].get(name, 0):,}" for section in kinds.values()]
        for name in _count_names(kinds)
    ]
    return _table(["Bucket", *kinds], rows, [Align.LEFT] + [Align.RIGHT] * len(kinds), empty="No kind was synced.")


def _counts_figure(kinds: dict[str, Any]) -> go.Figure:
    names = _count_names(kinds)
    figure = go.Figure([
        go.Bar(x=[COUNT_LABELS.get(name, name) for name in names],
               y=[section["counts"].get(name, 0) for name in names], name=kind,
               hovertemplate="%{x}: %{y:,}<extra>" + escape(kind) + "</extra>")
        for kind, section in kinds.items()
    ])
    figure.update_layout(barmode="group")
    figure.update_yaxes(title_text="records")
    return _styled(figure)


def _kind_section(kind: str, section: dict[str, Any]) -> str:
    parts = [
        _subsection("Field changes", _changes_table(section.get("updates", []))),
        _subsection("Creates", _creates_table(section.get("creates", []))),
        _subsection("Not synced", _plain_table(
            ["Record", "Reason", "Detail"], section.get("unmatched", []), ("record", "reason", "detail"))),
        _subsection("Suspected duplicates (reported, never merged)", _duplicates_table(section.get("suspected_duplicates", []))),
        _subsection("Possible matches for review (not linked)", _plain_table(
            ["HubSpot id", "Dynamics id", "Score", "Evidence"], section.get("possible_matches", []),
            ("hubspot_id", "dynamics_id", "score", "evidence"))),
    ]
    body = "".join(part for part in parts if part) or '<p class="empty">Nothing to change.</p>'
    return _section(kind.capitalize(), body)


def _changes_table(updates: list[dict[str, Any]]) -> str:
    headers = ["Record", "Field", "HubSpot", "Dynamics", "Written to", "Value", "Rule", "Reason"]
    rows, classes = [], []
    for update in updates:
        record = f"HubSpot {update.get('hubspot_id')} / Dynamics {update.get('dynamics_id')}"
        for change in update.get("changes", []):
            rows.append([record, change.get("field"), change.get("hubspot"), change.get("dynamics"),
                         change.get("written_to"), change.get("value"), change.get("rule"), change.get("reason")])
            classes.append("conflict" if change.get("conflict") else "")
    return _limited_table(headers, rows, classes)


def _creates_table(creates: list[dict[str, Any]]) -> str:
    rows = [
        [create.get("source"), create.get("target"), create.get("planned_id"), _values_text(create.get("values") or {})]
        for create in creates
    ]
    return _limited_table(["Source record", "Create in", "Planned id", "Values"], rows)


def _duplicates_table(duplicates: list[dict[str, Any]]) -> str:
    rows = [[duplicate.get("system"), ", ".join(map(str, duplicate.get("ids", []))), duplicate.get("reason")]
            for duplicate in duplicates]
    return _limited_table(["System", "Record ids", "Reason"], rows)


def _plain_table(headers: list[str], items: list[dict[str, Any]], keys: Sequence[str]) -> str:
    return _limited_table(headers, [[item.get(key) for key in keys] for item in items])


def _errors_section(errors: list[Any]) -> str:
    if not errors:
        return ""
    return _section("Record errors", _limited_table(["Error"], [[error] for error in errors]))


def _limited_table(headers: list[str], rows: list[list[Any]], classes: list[str] | None = None) -> str:
    """Render at most `HTML_ROW_LIMIT` rows of user values, and note how many were left out."""
    if not rows:
        return ""
    shown = rows[:HTML_ROW_LIMIT]
    text_rows = [[_cell_text(value) for value in row] for row in shown]
    table = _table(headers, text_rows, [Align.LEFT] * len(headers), row_classes=(classes or [])[:HTML_ROW_LIMIT])
    if len(rows) > HTML_ROW_LIMIT:
        table += _note(f"... and {len(rows) - HTML_ROW_LIMIT:,} more rows (all of them are in the JSON report).")
    return table


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def _values_text(values: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in values.items() if value not in (None, ""))


# ---------------------------------------------------------------- page parts


def _page(title: str, subtitle: str, body: Iterable[str]) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p></header>\n"
        "<main>\n" + "\n".join(part for part in body if part) + "\n</main>\n</body>\n</html>\n"
    )


def _section(title: str, body: str) -> str:
    return f"<section><h2>{escape(title)}</h2>{body}</section>"


def _subsection(title: str, body: str) -> str:
    return f"<h3>{escape(title)}</h3>{body}" if body else ""


def _chart_section(title: str, figure: go.Figure, *, include_js: bool) -> str:
    chart = figure.to_html(full_html=False, include_plotlyjs=include_js, config=PLOTLY_CONFIG)
    return f'<section class="chart"><h2>{escape(title)}</h2>{chart}</section>'


def _styled(figure: go.Figure) -> go.Figure:
    figure.update_layout(
        height=CHART_HEIGHT_PX, template="plotly_white", margin={"l": 60, "r": 20, "t": 40, "b": 60},
        legend={"orientation": "h", "y": -0.25}, font={"family": "system-ui, sans-serif", "size": 12},
    )
    return figure


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], aligns: Sequence[Align], *,
    empty: str = "", row_classes: Sequence[str] = (),
) -> str:
    """Render an HTML table, escaping every header and cell."""
    if not rows:
        return f'<p class="empty">{escape(empty)}</p>' if empty else ""
    head = "".join(f"<th{_align_class(align)}>{escape(header)}</th>" for header, align in zip(headers, aligns, strict=True))
    lines = []
    for index, row in enumerate(rows):
        css = row_classes[index] if index < len(row_classes) and row_classes[index] else ""
        cells = "".join(f"<td{_align_class(align)}>{escape(cell)}</td>" for cell, align in zip(row, aligns, strict=True))
        lines.append(f'<tr class="{css}">{cells}</tr>' if css else f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


def _align_class(align: Align) -> str:
    return ' class="number"' if align is Align.RIGHT else ""


def _note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>' if text else ""


def _reason_or(reason: str | None, detail: str) -> str:
    return f"not computable: {reason}" if reason else detail


def _money(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _percent(ratio: Ratio) -> str:
    return _fraction(ratio.value)


def _fraction(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def _fraction_points(value: float | None) -> float | None:
    return None if value is None else value * 100


def _points(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f} percentage points"


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f} days"
