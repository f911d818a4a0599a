"""KPI settings loading and the fiscal calendar."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from sync.errors import ConfigError
from sync.kpis import FiscalMonth, KpiSettings, Outcome, fiscal_month, load_kpi_settings
from sync.kpis.definitions import calendar_month_of

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "kpis.yaml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kpis.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_file_loads() -> None:
    assert load_kpi_settings(EXAMPLE) == KpiSettings(
        stage_outcomes={"closedwon": Outcome.WON, "closedlost": Outcome.LOST},
    )


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    assert load_kpi_settings(_write(tmp_path, "")) == KpiSettings()


def test_values_read(tmp_path: Path) -> None:
    path = _write(tmp_path, "as_of: 2017-12-31\ntime_zone: Europe/Paris\nfiscal_year_start_month: 7\nyear: 2017\n")
    settings = load_kpi_settings(path)
    assert (settings.as_of, settings.time_zone, settings.fiscal_year_start_month, settings.year) == (
        date(2017, 12, 31), "Europe/Paris", 7, 2017,
    )


def test_unknown_setting_has_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "currency: EUR\ntime_zon: UTC\n")
    with pytest.raises(ConfigError) as caught:
        load_kpi_settings(path)
    problem = caught.value.problems[0]
    assert (problem.line, problem.field, problem.message) == (2, "time_zon", "unknown setting")


def test_unknown_time_zone(tmp_path: Path) -> None:
    path = _write(tmp_path, "time_zone: Mars/Olympus\n")
    with pytest.raises(ConfigError) as caught:
        load_kpi_settings(path)
    assert "unknown time zone 'Mars/Olympus'" in str(caught.value)
    assert caught.value.problems[0].line == 1


def test_all_problems_listed(tmp_path: Path) -> None:
    path = _write(tmp_path, "fiscal_year_start_month: 13\ncurrency: dollars\nstage_outcomes:\n  x: maybe\n")
    with pytest.raises(ConfigError) as caught:
        load_kpi_settings(path)
    assert [problem.line for problem in caught.value.problems] == [1, 2, 4]


def test_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_kpi_settings(_write(tmp_path, "- a\n- b\n"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_kpi_settings(tmp_path / "absent.yaml")


def test_settings_frozen() -> None:
    settings = KpiSettings()
    with pytest.raises(ValueError):
        settings.currency = "EUR"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("day", "start", "expected"),
    [
        (date(2017, 1, 1), 1, FiscalMonth(2017, 1)),
        (date(2017, 12, 31), 1, FiscalMonth(2017, 12)),
        (date(2016, 7, 1), 7, FiscalMonth(2017, 1)),
        (date(2017, 6, 30), 7, FiscalMonth(2017, 12)),
        (date(2017, 7, 1), 7, FiscalMonth(2018, 1)),
        (date(2017, 3, 15), 4, FiscalMonth(2017, 12)),
        (date(2017, 4, 1), 4, FiscalMonth(2018, 1)),
    ],
    ids=["jan-start-first", "jan-start-last", "jul-start-first", "jul-start-last", "jul-start-next", "apr-start-march", "apr-start-april"],
)
def test_fiscal_month(day: date, start: int, expected: FiscalMonth) -> None:
    assert fiscal_month(day, start) == expected


@pytest.mark.parametrize("start", range(1, 13))
def test_calendar_month_round_trip(start: int) -> None:
    """Every day of two years maps to a fiscal month that maps back to its calendar month."""
    for year in (2016, 2017):
        for month in range(1, 13):
            period = fiscal_month(date(year, month, 15), start)
            assert calendar_month_of(period, start) == (year, month)


def test_half_and_quarter() -> None:
    assert (FiscalMonth(2017, 6).half, FiscalMonth(2017, 7).half) == (1, 2)
    assert [FiscalMonth(2017, month).quarter for month in (1, 3, 4, 12)] == [1, 1, 2, 4]
