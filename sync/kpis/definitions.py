"""KPI settings, stage outcomes and the date basis that every KPI shares.

A deal's period is taken from its close date, read as a calendar day in the reporting
time zone (see `sync.kpis.facts`). Years are fiscal years that start on the first day of
`fiscal_year_start_month`. A fiscal year is named by the calendar year in which it ends,
so with a July start, July 2016 to June 2017 is fiscal year 2017. With the default
January start, fiscal years are calendar years.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from sync.errors import ConfigError, Problem
from sync.yamlfile import load_yaml, location_of, plain

MONTHS_PER_HALF = 6
MONTHS_PER_QUARTER = 3
CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")


class Outcome(enum.StrEnum):
    """Outcome of a deal. Won and lost deals are closed, and open deals are not."""

    WON = "won"
    LOST = "lost"
    OPEN = "open"

    @property
    def closed(self) -> bool:
        return self is not Outcome.OPEN


# Breakdown name -> canonical field. A breakdown whose field no deal has is left out.
DEFAULT_BREAKDOWN_FIELDS: Mapping[str, str] = {
    "owner": "owner",
    "pipeline": "pipeline",
    "product": "product",
    "region": "region",
}


# Outcomes of the HubSpot default pipeline's closed stages. Any stage missing from the
# table is open. Callers build the full table from the HubSpot pipelines API: a closed
# stage with probability 1 is won, a closed stage with probability 0 is lost.
DEFAULT_STAGE_OUTCOMES: Mapping[str, Outcome] = {
    "closedwon": Outcome.WON,
    "closedlost": Outcome.LOST,
}


class KpiSettings(BaseModel):
    """Settings of the KPI computation, frozen once loaded.

    `as_of` is the day that overdue deals are measured against, and None means today
    in `time_zone`. `year` is the fiscal year whose halves are compared, and None means
    the latest fiscal year with a closed deal. The `*_field` settings name the canonical
    fields of a deal, as the mapping calls them. `stage_outcomes` adds to or overrides
    the stage table that the caller passes in, and `stage_probabilities` (0 to 1) does
    the same for the probability table. `revenue_date_field` names the date that places
    won revenue in a period, and None means the close date. `qualified_stages` are the
    open stages that pipeline velocity counts, and None means every open stage.
    `stage_order` orders the stage funnel, and an empty list means the order in which
    the stage history visits the stages. `compare_periods` names the two periods whose
    win rates are compared (see `parse_period`), and None means the two halves of
    `year`. `breakdown_fields` maps a breakdown's name to the canonical field it groups by.
    `exchange_rates` maps an ISO 4217 code to the units of `currency` that one unit of
    that currency is worth (EUR: 1.08 with currency USD turns 100 EUR into 108 USD).
    `currency` itself needs no rate, and a rate given for it must be 1.
    `currency_field` names the canonical field with a deal's currency code, and a deal
    without one is taken to be in `currency`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    as_of: date | None = None
    time_zone: str = "UTC"
    fiscal_year_start_month: int = Field(default=1, ge=1, le=12)
    currency: str = Field(default="USD", pattern="^[A-Z]{3}$")
    year: int | None = Field(default=None, ge=1900, le=9999)
    amount_field: str = Field(default="amount", min_length=1)
    stage_field: str = Field(default="stage", min_length=1)
    close_date_field: str = Field(default="close_date", min_length=1)
    name_field: str = Field(default="name", min_length=1)
    owner_field: str = Field(default="owner", min_length=1)
    created_date_field: str = Field(default="created_date", min_length=1)
    key_field: str = Field(default="key", min_length=1)
    revenue_date_field: str | None = Field(default=None, min_length=1)
    stage_outcomes: dict[str, Outcome] = Field(default_factory=dict)
    stage_probabilities: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)
    qualified_stages: list[str] | None = None
    stage_order: list[str] = Field(default_factory=list)
    compare_periods: tuple[str, str] | None = None
    breakdown_fields: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_BREAKDOWN_FIELDS))
    exchange_rates: dict[str, Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]] = Field(default_factory=dict)
    currency_field: str = Field(default="currency", min_length=1)

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}. Use an IANA name such as 'UTC' or 'America/New_York'") from None
        return value

    @field_validator("exchange_rates")
    @classmethod
    def _valid_rates(cls, value: dict[str, Decimal], info: ValidationInfo) -> dict[str, Decimal]:
        errors = []
        for code, rate in value.items():
            if not CURRENCY_CODE.match(code):
                errors.append(
                    f"exchange rate key {code!r} is not an ISO 4217 currency code. Use three capital letters such as 'EUR'."
                )
            if code == info.data.get("currency") and rate != 1:
                errors.append(
                    f"{code} is the reporting currency, so its rate must be 1 (got {rate}). Remove it or set it to 1."
                )
        if errors:
            raise ValueError(" ".join(errors).removesuffix("."))
        return value

    @field_validator("compare_periods")
    @classmethod
    def _known_periods(cls, value: tuple[str, str] | None) -> tuple[str, str] | None:
        if value is not None:
            for label in value:
                parse_period(label)
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def revenue_date(self) -> str:
        """Canonical field of the date that places won revenue in a period."""
        return self.revenue_date_field or self.close_date_field


@dataclass(frozen=True, order=True)
class FiscalMonth:
    """One month of a fiscal year: `month` counts from 1 (first fiscal month) to 12."""

    year: int
    month: int

    @property
    def half(self) -> int:
        return 1 if self.month <= MONTHS_PER_HALF else 2

    @property
    def quarter(self) -> int:
        return (self.month - 1) // MONTHS_PER_QUARTER + 1


def fiscal_month(day: date, start_month: int) -> FiscalMonth:
    """Place a calendar day in its fiscal year and fiscal month (both 1-based)."""
    offset = (day.month - start_month) % 12
    year = day.year if start_month == 1 or day.month < start_month else day.year + 1
    return FiscalMonth(year=year, month=offset + 1)


class Grain(enum.StrEnum):
    """Length of a reporting period."""

    YEAR = "year"
    HALF = "half"
    QUARTER = "quarter"
    MONTH = "month"


@dataclass(frozen=True, order=True)
class Period:
    """A fiscal year, or a half, quarter or month of it, with its label.

    Labels: "2017" (fiscal year), "2017-H2" (fiscal half), "2017-Q3" (fiscal quarter)
    and "2017-03" (calendar month March 2017).
    """

    first: FiscalMonth
    last: FiscalMonth
    grain: Grain
    label: str

    def contains(self, month: FiscalMonth) -> bool:
        return self.first <= month <= self.last


_PERIOD_LABEL = re.compile(r"^(?P<year>\d{4})(?:-(?:H(?P<half>[12])|Q(?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2])))?$")


def parse_period(label: str, start_month: int = 1) -> Period:
    """Read a period label such as "2017", "2017-H1", "2017-Q3" or "2017-03".

    Years, halves and quarters are fiscal, and a month is a calendar month. Raises
    `ValueError` naming the accepted forms for any other label.
    """
    found = _PERIOD_LABEL.match(label.strip())
    if found is None:
        raise ValueError(f"unknown period {label!r}. Use a year (2017), a half (2017-H1), a quarter (2017-Q3) or a month (2017-03)")
    year = int(found["year"])
    if found["month"]:
        month = fiscal_month(date(year, int(found["month"]), 1), start_month)
        return Period(month, month, Grain.MONTH, label.strip())
    if found["half"]:
        first = (int(found["half"]) - 1) * MONTHS_PER_HALF + 1
        return Period(FiscalMonth(year, first), FiscalMonth(year, first + MONTHS_PER_HALF - 1), Grain.HALF, label.strip())
    if found["quarter"]:
        first = (int(found["quarter"]) - 1) * MONTHS_PER_QUARTER + 1
        return Period(FiscalMonth(year, first), FiscalMonth(year, first + MONTHS_PER_QUARTER - 1), Grain.QUARTER, label.strip())
    return Period(FiscalMonth(year, 1), FiscalMonth(year, 12), Grain.YEAR, label.strip())


def period_label(month: FiscalMonth, grain: Grain, start_month: int) -> str:
    """Label the period of `grain` that contains `month`, in the form `parse_period` reads."""
    if grain is Grain.YEAR:
        return str(month.year)
    if grain is Grain.HALF:
        return f"{month.year}-H{month.half}"
    if grain is Grain.QUARTER:
        return f"{month.year}-Q{month.quarter}"
    calendar_year, calendar_month = calendar_month_of(month, start_month)
    return f"{calendar_year}-{calendar_month:02d}"


def calendar_month_of(period: FiscalMonth, start_month: int) -> tuple[int, int]:
    """Return the (calendar year, calendar month) of a fiscal month."""
    month_index = start_month - 1 + period.month - 1
    year = period.year if start_month == 1 else period.year - 1
    return year + month_index // 12, month_index % 12 + 1


def stage_table(settings: KpiSettings, stage_outcomes: Mapping[str, Outcome] | None) -> dict[str, Outcome]:
    """Merge the caller's stage table (default: `DEFAULT_STAGE_OUTCOMES`) with the settings' overrides."""
    table = dict(DEFAULT_STAGE_OUTCOMES if stage_outcomes is None else stage_outcomes)
    table.update(settings.stage_outcomes)
    return table


def load_kpi_settings(path: Path) -> KpiSettings:
    """Load KPI settings from a YAML file whose top level is a mapping of settings.

    An empty file gives the defaults. Raises `ConfigError` listing every invalid or
    unknown setting with its file and line.
    """
    document = load_yaml(path)
    if document is None:
        return KpiSettings()
    if not isinstance(document, Mapping):
        raise ConfigError(Problem(
            "the KPI settings file must be a mapping of settings", file=path, line=1,
            fix="write one 'name: value' line per setting, as in config/kpis.yaml",
        ))
    try:
        return KpiSettings.model_validate(plain(document))
    except ValidationError as error:
        raise ConfigError([_problem_from(path, document, item) for item in error.errors()]) from None


def _problem_from(path: Path, document: Any, item: Any) -> Problem:
    location = [str(part) for part in item["loc"]]
    line, column = location_of(document, location)
    setting = ".".join(location)
    if item["type"] == "extra_forbidden":
        return Problem("unknown setting", file=path, line=line, column=column, field=setting,
                       fix=f"remove it or correct its spelling. Known settings: {', '.join(KpiSettings.model_fields)}")
    message = item["msg"].removeprefix("Value error, ")
    return Problem(message, file=path, line=line, column=column, field=setting)
