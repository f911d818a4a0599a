"""Stage events from HubSpot's hs_date_entered_ properties, observed stage changes, and merging them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import structlog

from sync.kpis import (
    KpiSettings,
    StageEvent,
    compute_kpis,
    hubspot_stage_properties,
    merge_stage_events,
    observed_stage_event,
    read_hubspot_stage_events,
    stage_events_from_hubspot,
)

LOS_ANGELES = ZoneInfo("America/Los_Angeles")
UTC_ZONE = ZoneInfo("UTC")
STAGES = ["appointmentscheduled", "qualifiedtobuy", "closedwon"]


def _events(properties: dict, zone: ZoneInfo = UTC_ZONE, stages=STAGES) -> list[StageEvent]:
    return stage_events_from_hubspot([("deal-1", properties)], stages, zone)


# ---------------------------------------------------------------- HubSpot properties


def test_property_names() -> None:
    assert hubspot_stage_properties(["appointmentscheduled", "1234567"]) == [
        "hs_date_entered_appointmentscheduled", "hs_date_entered_1234567",
    ]


def test_property_names_without_repeats() -> None:
    assert hubspot_stage_properties(["a", "b", "a"]) == ["hs_date_entered_a", "hs_date_entered_b"]


def test_iso_datetime_read() -> None:
    events = _events({"hs_date_entered_qualifiedtobuy": "2023-01-05T10:00:00.000Z"})
    assert events == [StageEvent("deal-1", "qualifiedtobuy", datetime(2023, 1, 5, 10, tzinfo=UTC))]


def test_iso_datetime_with_offset() -> None:
    events = _events({"hs_date_entered_qualifiedtobuy": "2023-01-05T10:00:00+02:00"})
    assert events[0].entered_at == datetime(2023, 1, 5, 8, tzinfo=UTC)


def test_epoch_milliseconds_read() -> None:
    events = _events({"hs_date_entered_qualifiedtobuy": "1672912800123"})
    assert events[0].entered_at == datetime(2023, 1, 5, 10, 0, 0, 123000, tzinfo=UTC)


def test_epoch_milliseconds_as_number() -> None:
    events = _events({"hs_date_entered_qualifiedtobuy": 1672912800000})
    assert events[0].entered_at == datetime(2023, 1, 5, 10, tzinfo=UTC)


def test_date_only_stays_date() -> None:
    events = _events({"hs_date_entered_qualifiedtobuy": "2023-01-05"})
    assert events[0].entered_at == date(2023, 1, 5)


def test_naive_datetime_is_wall_time() -> None:
    events = _events({"hs_date_entered_qualifiedtobuy": "2023-01-05T10:00:00"}, LOS_ANGELES)
    assert events[0].entered_at == datetime(2023, 1, 5, 10, tzinfo=LOS_ANGELES)


def test_epoch_across_day_boundary() -> None:
    # 06:30 UTC on 1 April is 23:30 on 31 March in Los Angeles (UTC-7 in summer time).
    events = _events({"hs_date_entered_qualifiedtobuy": "1680330600000"}, LOS_ANGELES)
    assert events[0].entered_at.date() == date(2023, 3, 31)


def test_iso_across_day_boundary() -> None:
    events = _events({"hs_date_entered_qualifiedtobuy": "2023-04-01T06:30:00Z"}, LOS_ANGELES)
    assert events[0].entered_at.date() == date(2023, 3, 31)


def test_date_only_keeps_day_in_any_zone() -> None:
    events = _events({"hs_date_entered_qualifiedtobuy": "2023-04-01"}, LOS_ANGELES)
    assert events[0].entered_at == date(2023, 4, 1)


def test_empty_values_skipped() -> None:
    events = _events({
        "hs_date_entered_appointmentscheduled": None,
        "hs_date_entered_qualifiedtobuy": "  ",
        "hs_date_entered_closedwon": "",
    })
    assert events == []


def test_other_properties_ignored() -> None:
    assert _events({"dealstage": "closedwon", "hs_date_entered_1234": "2023-01-05"}) == []


def test_events_in_stage_order() -> None:
    events = _events({
        "hs_date_entered_closedwon": "2023-01-09",
        "hs_date_entered_appointmentscheduled": "2023-01-01",
    })
    assert [event.stage for event in events] == ["appointmentscheduled", "closedwon"]


def test_events_keyed_by_given_key() -> None:
    deals = [("k1", {"hs_date_entered_closedwon": "2023-01-09"}), ("k2", {"hs_date_entered_closedwon": "2023-01-10"})]
    assert [event.deal_key for event in stage_events_from_hubspot(deals, STAGES, UTC_ZONE)] == ["k1", "k2"]


@pytest.mark.parametrize("raw", ["yesterday", "2023-13-01", "999999999999999", "2023-01-05T25:00"])
def test_unreadable_value_reported(raw: str) -> None:
    events, problems = read_hubspot_stage_events([("deal-1", {"hs_date_entered_closedwon": raw})], STAGES, UTC_ZONE)
    assert (events, len(problems)) == ([], 1)


def test_unreadable_problem_text() -> None:
    _, problems = read_hubspot_stage_events([("deal-1", {"hs_date_entered_closedwon": "soon"})], STAGES, UTC_ZONE)
    assert problems == [
        "deal deal-1: hs_date_entered_closedwon 'soon' is not an ISO 8601 date or datetime or epoch "
        "milliseconds. The entry into stage closedwon is left out of the stage history."
    ]


def test_unreadable_value_logged() -> None:
    with structlog.testing.capture_logs() as logs:
        _events({"hs_date_entered_closedwon": "soon", "hs_date_entered_qualifiedtobuy": "2023-01-01"})
    assert [entry["event"] for entry in logs] == ["kpis.stage_entry_unreadable"]


def test_readable_kept_beside_unreadable() -> None:
    events = _events({"hs_date_entered_closedwon": "soon", "hs_date_entered_qualifiedtobuy": "2023-01-01"})
    assert [event.stage for event in events] == ["qualifiedtobuy"]


# ---------------------------------------------------------------- observed changes

RUN = datetime(2023, 2, 1, 6, tzinfo=UTC)


def test_observed_change() -> None:
    assert observed_stage_event("d", "qualifiedtobuy", "contractsent", RUN) == StageEvent("d", "contractsent", RUN)


def test_observed_same_stage() -> None:
    assert observed_stage_event("d", "contractsent", "contractsent", RUN) is None


def test_observed_same_stage_with_spaces() -> None:
    assert observed_stage_event("d", "contractsent ", " contractsent", RUN) is None


def test_observed_first_sighting() -> None:
    assert observed_stage_event("d", None, "contractsent", RUN) is None


def test_observed_stage_cleared() -> None:
    assert observed_stage_event("d", "contractsent", "", RUN) is None


def test_observed_stage_trimmed() -> None:
    event = observed_stage_event("d", "qualifiedtobuy", " closedwon ", RUN)
    assert event is not None
    assert event.stage == "closedwon"


def test_observed_naive_time_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        observed_stage_event("d", "a", "b", datetime(2023, 2, 1, 6))


# ---------------------------------------------------------------- merging


def test_merge_keeps_earlier_hubspot_entry() -> None:
    hubspot = [StageEvent("d", "contractsent", datetime(2023, 1, 31, 9, tzinfo=UTC))]
    observed = [StageEvent("d", "contractsent", RUN)]
    assert merge_stage_events(hubspot, observed, UTC_ZONE) == hubspot


def test_merge_keeps_earlier_observed_entry() -> None:
    observed = [StageEvent("d", "contractsent", RUN)]
    hubspot = [StageEvent("d", "contractsent", RUN + timedelta(hours=3))]
    assert merge_stage_events(hubspot, observed, UTC_ZONE) == observed


def test_merge_exactly_one_day_apart_is_one_entry() -> None:
    hubspot = [StageEvent("d", "contractsent", RUN - timedelta(days=1))]
    assert len(merge_stage_events(hubspot, [StageEvent("d", "contractsent", RUN)], UTC_ZONE)) == 1


def test_merge_keeps_reentry_after_a_day() -> None:
    hubspot = [StageEvent("d", "contractsent", RUN - timedelta(days=1, seconds=1))]
    assert len(merge_stage_events(hubspot, [StageEvent("d", "contractsent", RUN)], UTC_ZONE)) == 2


def test_merge_different_stages_kept() -> None:
    hubspot = [StageEvent("d", "qualifiedtobuy", RUN)]
    assert len(merge_stage_events(hubspot, [StageEvent("d", "contractsent", RUN)], UTC_ZONE)) == 2


def test_merge_different_deals_kept() -> None:
    hubspot = [StageEvent("d1", "contractsent", RUN)]
    assert len(merge_stage_events(hubspot, [StageEvent("d2", "contractsent", RUN)], UTC_ZONE)) == 2


def test_merge_date_against_datetime_in_zone() -> None:
    # 1 Feb midnight in Los Angeles is 08:00 UTC, so an observation at 06:00 UTC is earlier.
    hubspot = [StageEvent("d", "contractsent", date(2023, 2, 1))]
    observed = [StageEvent("d", "contractsent", RUN)]
    assert merge_stage_events(hubspot, observed, LOS_ANGELES) == observed


def test_merge_hubspot_first_at_equal_time() -> None:
    hubspot = [StageEvent("d", "contractsent", RUN)]
    observed = [StageEvent("d", "contractsent", RUN.astimezone(LOS_ANGELES))]
    assert merge_stage_events(hubspot, observed, UTC_ZONE)[0] is hubspot[0]


def test_merge_ordered_by_deal_then_time() -> None:
    events = [StageEvent("b", "s1", RUN), StageEvent("a", "s2", RUN), StageEvent("a", "s1", RUN - timedelta(days=3))]
    merged = merge_stage_events(events, [], UTC_ZONE)
    assert [(event.deal_key, event.stage) for event in merged] == [("a", "s1"), ("a", "s2"), ("b", "s1")]


def test_merged_history_counts_stay_once() -> None:
    hubspot = stage_events_from_hubspot(
        [("d", {"hs_date_entered_qualifiedtobuy": "2023-01-01T06:00:00Z",
                "hs_date_entered_contractsent": "2023-01-31T06:00:00Z"})],
        ["qualifiedtobuy", "contractsent"], UTC_ZONE,
    )
    observed = [observed_stage_event("d", "qualifiedtobuy", "contractsent", RUN)]
    merged = merge_stage_events(hubspot, [event for event in observed if event], UTC_ZONE)
    report = compute_kpis([], KpiSettings(as_of=date(2023, 2, 1)), stage_events=merged)
    assert report.stage_history is not None
    assert [(time.stage, time.stays, time.in_stage) for time in report.stage_history.times] == [
        ("qualifiedtobuy", 1, 0), ("contractsent", 0, 1),
    ]
