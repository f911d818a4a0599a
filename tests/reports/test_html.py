"""The HTML KPI dashboard and reconciliation report: structure, escaping and a real browser.

The browser tests run Debian's headless Chromium on the written files and read the
rendered DOM, in which plotly.js has drawn its charts. They are skipped when
/usr/bin/chromium is absent.
"""

from __future__ import annotations

import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest

from sync.kpis import KpiSettings, StageEvent, compute_kpis, facts_from_canonical
from sync.reports.html import render_kpi_dashboard, render_reconciliation_html

CHROMIUM = Path("/usr/bin/chromium")
HOSTILE = '<script>alert("x")</script>'
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _report():
    values = [
        {"name": HOSTILE, "stage": "appointmentscheduled", "amount": 500, "close_date": "2017-05-01", "owner": "ann"},
        {"name": "Big deal", "stage": "contractsent", "amount": 2000, "close_date": "2017-12-01", "owner": "bob"},
        {"name": "Won one", "stage": "closedwon", "amount": 900, "close_date": "2017-02-10",
         "created_date": "2017-01-01", "owner": "ann"},
        {"name": "Won two", "stage": "closedwon", "amount": 300, "close_date": "2017-04-10",
         "created_date": "2017-03-01", "owner": "bob"},
        {"name": "Lost one", "stage": "closedlost", "amount": 0, "close_date": "2017-04-20", "owner": "bob"},
    ]
    settings = KpiSettings(as_of=date(2017, 9, 1))
    facts, _ = facts_from_canonical(values, settings)
    events = [StageEvent("d1", "s1", date(2017, 1, 1)), StageEvent("d1", "closedwon", date(2017, 2, 1))]
    return compute_kpis(facts, settings, stage_probabilities={"appointmentscheduled": 0.2, "contractsent": 0.9},
                        stage_events=events)


def _document():
    change = {"field": "email", "hubspot": HOSTILE, "dynamics": "a@example.com", "written_to": "dynamics",
              "value": HOSTILE, "rule": "newest_wins", "reason": "HubSpot changed it later", "conflict": True}
    kinds = {
        "contact": {
            "counts": {"read_hubspot": 3, "read_dynamics": 2, "update_in_dynamics": 1, "create_in_hubspot": 1},
            "creates": [{"source": "Dynamics contact c-1", "target": "hubspot", "planned_id": None, "key": "b@example.com",
                         "values": {"email": "b@example.com"}}],
            "updates": [{"hubspot_id": "101", "dynamics_id": "d-1", "new_link": False, "match": "link", "changes": [change]}],
            "conflicts": [], "unmatched": [{"record": "HubSpot contact 7", "reason": "ambiguous", "detail": "two candidates"}],
            "suspected_duplicates": [{"system": "hubspot", "ids": ["8", "9"], "reason": "same email"}],
            "possible_matches": [],
        },
        "deal": {"counts": {"read_hubspot": 4, "read_dynamics": 4}, "creates": [], "updates": [], "conflicts": [],
                 "unmatched": [], "suspected_duplicates": [], "possible_matches": []},
    }
    return {"run_id": "run-1", "mode": "dry_run", "generated_at": datetime(2024, 1, 1).isoformat(),
            "kinds": kinds, "record_errors": ["HubSpot deal 5: amount 'abc' is not a number"]}


@pytest.fixture(scope="module")
def dashboard() -> str:
    return render_kpi_dashboard(_report())


@pytest.fixture(scope="module")
def reconciliation() -> str:
    return render_reconciliation_html(_document())


def test_dashboard_inlines_plotly_once(dashboard):
    assert dashboard.count("plotly.js v") == 1
    assert "<script src=" not in dashboard


def test_dashboard_escapes_deal_name(dashboard):
    assert HOSTILE not in dashboard
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in dashboard


def _overdue_section(page: str) -> str:
    return page.split("<h2>Overdue open deals (")[1].split("</section>")[0]


def test_dashboard_lists_overdue_deal(dashboard):
    assert "2017-05-01" in _overdue_section(dashboard)


def test_dashboard_overdue_leaves_out_future(dashboard):
    assert "Big deal" not in _overdue_section(dashboard)


def test_dashboard_sections(dashboard):
    for title in ("Win rate by month", "Won revenue by period", "Open pipeline by stage",
                  "Sales cycle", "Stage history", "By owner", "Data quality"):
        assert title in dashboard, title


def test_reconciliation_escapes_values(reconciliation):
    assert HOSTILE not in reconciliation
    assert reconciliation.count("&lt;script&gt;") == 2


def test_reconciliation_marks_conflict(reconciliation):
    assert '<tr class="conflict">' in reconciliation


def test_reconciliation_counts_table(reconciliation):
    assert "to update in Dynamics" in reconciliation
    assert "Record errors" in reconciliation


def test_reconciliation_row_limit(monkeypatch):
    document = _document()
    update = document["kinds"]["contact"]["updates"][0]
    update["changes"] = update["changes"] * 3
    monkeypatch.setattr("sync.reports.html.HTML_ROW_LIMIT", 2)
    assert "and 1 more rows" in render_reconciliation_html(document)


# ---------------------------------------------------------------- headless Chromium


def _chromium(tmp_path: Path, page: Path, *extra: str) -> str:
    command = [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *extra, page.as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    return result.stdout


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, dashboard, reconciliation) -> dict[str, str]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent")
    folder = tmp_path_factory.mktemp("html")
    pages = {"dashboard": dashboard, "reconciliation": reconciliation}
    dom = {}
    for name, text in pages.items():
        page = folder / f"{name}.html"
        page.write_text(text, encoding="utf-8")
        dom[name] = _chromium(folder, page, "--virtual-time-budget=5000", "--dump-dom")
        _chromium(folder, page, "--window-size=1280,2000", f"--screenshot={folder / name}.png")
        assert (folder / f"{name}.png").stat().st_size > 10_000
    return dom


def test_browser_draws_dashboard_charts(rendered):
    assert rendered["dashboard"].count('class="plot-container plotly"') == 3
    assert rendered["dashboard"].count('class="main-svg"') >= 3


def test_browser_shows_overdue_table(rendered):
    assert "<table>" in _overdue_section(rendered["dashboard"])


def test_browser_draws_reconciliation_chart(rendered):
    assert rendered["reconciliation"].count('class="plot-container plotly"') == 1


def test_browser_keeps_values_as_text(rendered):
    assert "<script>alert" not in rendered["reconciliation"]
