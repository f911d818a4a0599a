"""Time in stage and stage conversion from small hand-made stage histories."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sync.kpis import Outcome, StageEvent
from sync.kpis.stages import stage_history

OUTCOMES = {"won": Outcome.WON, "lost": Outcome.LOST}
UTC_ZONE = ZoneInfo("UTC")


def _history(events, order=()):
    return stage_history(events, OUTCOMES, list(order), UTC_ZONE)


def test_skipped_stage_counts_as_passed():
    events = [StageEvent("a", "s1", date(2018, 1, 1)), StageEvent("a", "s3", date(2018, 1, 5)),
              StageEvent("b", "s1", date(2018, 1, 1)), StageEvent("b", "s2", date(2018, 1, 2)),
              StageEvent("b", "s3", date(2018, 1, 3))]
    funnel = _history(events).funnel
    assert [(step.stage, step.reached) for step in funnel] == [("s1", 2), ("s2", 2), ("s3", 2)]


def test_won_deal_passes_every_stage():
    events = [StageEvent("a", "s1", date(2018, 1, 1)), StageEvent("a", "won", date(2018, 1, 9)),
              StageEvent("b", "s1", date(2018, 1, 1)), StageEvent("b", "s2", date(2018, 1, 2))]
    last = _history(events).funnel[-1]
    assert (last.stage, last.reached, last.advanced) == ("s2", 2, 1)


def test_events_sorted_by_time():
    events = [StageEvent("a", "s2", date(2018, 1, 4)), StageEvent("a", "s1", date(2018, 1, 1))]
    times = {time.stage: time for time in _history(events).times}
    assert times["s1"].median_days == 3.0
    assert times["s2"].in_stage == 1


def test_datetimes_give_fractional_days():
    events = [StageEvent("a", "s1", datetime(2018, 1, 1, 0, tzinfo=UTC)),
              StageEvent("a", "lost", datetime(2018, 1, 1, 12, tzinfo=UTC))]
    assert _history(events).times[0].median_days == 0.5


def test_configured_order_wins():
    events = [StageEvent("a", "s2", date(2018, 1, 1)), StageEvent("a", "s1", date(2018, 1, 2))]
    assert [step.stage for step in _history(events, order=["s1", "s2"]).funnel] == ["s1", "s2"]


def test_empty_history():
    history = _history([])
    assert (history.deals, history.funnel, history.times) == (0, (), ())
