"""Converting deal amounts to the report currency, and deals in a currency without a rate."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from sync.errors import ConfigError
from sync.kpis import Conversion, KpiSettings, ValueIssue, compute_kpis, facts_from_canonical, load_kpi_settings

SETTINGS = KpiSettings(as_of=date(2018, 1, 10), currency="USD", exchange_rates={"EUR": Decimal("1.08")})


def _one(deal: dict, settings: KpiSettings = SETTINGS):
    facts, problems = facts_from_canonical([deal], settings)
    return facts[0], problems


def _deals() -> list[dict]:
    return [
        {"name": "Acme", "stage": "closedwon", "amount": "100", "currency": "EUR", "close_date": "2017-02-01"},
        {"name": "Globex", "stage": "closedwon", "amount": "50", "currency": "USD", "close_date": "2017-03-01"},
        {"name": "Initech", "stage": "closedwon", "amount": "1000", "currency": "JPY", "close_date": "2017-04-01"},
        {"name": "Umbrella", "stage": "closedlost", "amount": "20", "close_date": "2017-05-01"},
        {"name": "Hooli", "stage": "qualifiedtobuy", "amount": "10", "currency": "eur", "close_date": "2018-02-01"},
    ]


def test_amount_converted_at_rate() -> None:
    fact, _ = _one({"amount": "100", "currency": "EUR"})
    assert fact.amount == Decimal("108.00")


def test_conversion_recorded() -> None:
    fact, _ = _one({"amount": "100", "currency": "EUR"})
    assert fact.source_amount == Decimal(100)
    assert fact.source_currency == "EUR"
    assert fact.conversion is Conversion.CONVERTED


def test_currency_code_case_ignored() -> None:
    fact, _ = _one({"amount": "10", "currency": " eur "})
    assert fact.amount == Decimal("10.80")


def test_reporting_currency_needs_no_rate() -> None:
    settings = KpiSettings(currency="GBP")
    fact, problems = _one({"amount": "75.5", "currency": "GBP"}, settings)
    assert (fact.amount, fact.conversion, problems) == (Decimal("75.5"), Conversion.NOT_NEEDED, [])


def test_deal_without_currency_is_reporting_currency() -> None:
    fact, problems = _one({"amount": "75.5"})
    assert (fact.amount, fact.source_currency, problems) == (Decimal("75.5"), None, [])


def test_missing_rate_leaves_amount_out() -> None:
    fact, _ = _one({"amount": "1000", "currency": "JPY"})
    assert (fact.amount, fact.amount_issue) == (None, ValueIssue.NO_EXCHANGE_RATE)


def test_missing_rate_keeps_source_amount() -> None:
    fact, _ = _one({"amount": "1000", "currency": "JPY"})
    assert (fact.source_amount, fact.source_currency) == (Decimal(1000), "JPY")


def test_missing_rate_problem_names_fix() -> None:
    _, problems = _one({"name": "Initech", "amount": "1000", "currency": "JPY"})
    assert problems == [
        "deal #1 'Initech': amount '1000' is in JPY, which has no exchange rate to USD. The deal is counted "
        "but left out of money figures. Add JPY to exchange_rates in the KPI settings."
    ]


def test_zero_amount_needs_no_rate() -> None:
    fact, problems = _one({"amount": 0, "currency": "JPY"})
    assert (fact.amount, problems) == (Decimal(0), [])


def test_missing_amount_with_currency() -> None:
    fact, problems = _one({"amount": None, "currency": "JPY"})
    assert (fact.amount_issue, problems) == (ValueIssue.MISSING, [])


def test_custom_currency_field() -> None:
    settings = KpiSettings(currency_field="deal_currency_code", exchange_rates={"EUR": Decimal(2)})
    fact, _ = _one({"amount": "3", "deal_currency_code": "EUR", "currency": "USD"}, settings)
    assert fact.amount == Decimal(6)


# ---------------------------------------------------------------- the KPIs


def _report():
    facts, _ = facts_from_canonical(_deals(), SETTINGS)
    return compute_kpis(facts, SETTINGS)


def test_revenue_sums_converted_amounts() -> None:
    assert _report().won_revenue.revenue == Decimal("158.00")


def test_unconverted_deal_still_counted() -> None:
    revenue = _report().won_revenue
    assert (revenue.won, revenue.without_amount) == (3, 1)


def test_average_ignores_unconverted_deal() -> None:
    assert _report().won_revenue.average == Decimal("79.00")


def test_open_pipeline_converted() -> None:
    assert _report().open_pipeline.value == Decimal("10.80")


def test_win_rate_by_count_keeps_unconverted() -> None:
    assert _report().win_rate.by_count.denominator == 4


def test_data_quality_counts_missing_rate() -> None:
    assert _report().data_quality.without_exchange_rate == 1


def test_without_amount_includes_missing_rate() -> None:
    assert _report().data_quality.without_amount == 1


def test_note_lists_rates_used() -> None:
    note = _report().currency_note
    assert note is not None
    assert [(use.currency, use.rate, use.deals) for use in note.converted] == [("EUR", Decimal("1.08"), 2)]


def test_note_lists_missing_rates() -> None:
    note = _report().currency_note
    assert note is not None
    assert note.without_rate == (("JPY", 1),)


def test_note_text() -> None:
    note = _report().currency_note
    assert note is not None
    assert note.text == (
        "Amounts converted to USD at 1 EUR = 1.08 USD (2 deals). "
        "No exchange rate for JPY (1 deal), so those amounts are left out of money figures. "
        "Add the rates to exchange_rates in the KPI settings."
    )


def test_no_note_without_conversion() -> None:
    facts, _ = facts_from_canonical([{"stage": "closedwon", "amount": 5, "currency": "USD"}], SETTINGS)
    assert compute_kpis(facts, SETTINGS).currency_note is None


# ---------------------------------------------------------------- settings


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="greater than 0"):
        KpiSettings(exchange_rates={"EUR": Decimal(0)})


def test_rate_key_must_be_code() -> None:
    with pytest.raises(ValueError, match="'euro' is not an ISO 4217 currency code"):
        KpiSettings(exchange_rates={"euro": Decimal(1)})


def test_reporting_currency_rate_must_be_one() -> None:
    with pytest.raises(ValueError, match="USD is the reporting currency, so its rate must be 1"):
        KpiSettings(currency="USD", exchange_rates={"USD": Decimal("1.1")})


def test_reporting_currency_rate_of_one_accepted() -> None:
    assert KpiSettings(currency="USD", exchange_rates={"USD": Decimal(1)}).exchange_rates == {"USD": Decimal(1)}


def test_rates_loaded_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "kpis.yaml"
    path.write_text("currency: USD\nexchange_rates:\n  EUR: 1.08\n  GBP: '1.27'\n", encoding="utf-8")
    assert load_kpi_settings(path).exchange_rates == {"EUR": Decimal("1.08"), "GBP": Decimal("1.27")}


def test_bad_rate_in_yaml_names_line(tmp_path: Path) -> None:
    path = tmp_path / "kpis.yaml"
    path.write_text("currency: USD\nexchange_rates:\n  EUR: -2\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_kpi_settings(path)
    assert ":3" in str(caught.value)


def test_shipped_config_loads() -> None:
    path = Path(__file__).resolve().parents[2] / "config" / "kpis.yaml"
    assert load_kpi_settings(path).currency_field == "currency"
