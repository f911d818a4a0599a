"""Build the stage history that the stage KPIs read, from HubSpot and from crmsync's own runs.

HubSpot keeps, for each deal and stage, the time the deal entered that stage in the
read-only deal property `hs_date_entered_<stage id>`. The API sends datetime properties
as ISO 8601 text, and exports and older clients also carry them as epoch milliseconds or
as a bare date, so all three forms are read. Dataverse keeps no such history, so crmsync
also records the stage changes it detects between two runs (`observed_stage_event`).
`merge_stage_events` joins both without counting one stage entry twice.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import structlog

from sync.kpis.stages import StageEvent, entered_moment

log = structlog.get_logger(__name__)

HUBSPOT_ENTERED_PREFIX = "hs_date_entered_"
# Two entries of the same deal into the same stage this close together are one entry
# seen twice, for example once by HubSpot and once by a crmsync run.
SAME_ENTRY_WINDOW = timedelta(days=1)

_EPOCH_MILLISECONDS = re.compile(r"^-?\d{1,15}$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Unreadable(ValueError):
    """A stage entry value that is neither ISO 8601 text nor epoch milliseconds."""


def hubspot_stage_properties(stage_ids: Iterable[str]) -> list[str]:
    """Name the HubSpot deal properties with the entry time of each stage, in input order without repeats."""
    names: list[str] = []
    for stage_id in stage_ids:
        name = HUBSPOT_ENTERED_PREFIX + stage_id
        if name not in names:
            names.append(name)
    return names


def stage_events_from_hubspot(
    deals: Iterable[tuple[str, Mapping[str, str | None]]], stage_ids: Iterable[str], zone: ZoneInfo,
) -> list[StageEvent]:
    """Turn HubSpot deals' `hs_date_entered_<stage id>` properties into stage events.

    `deals` pairs the key that the events carry (the deal key of the KPI facts) with the
    deal's properties. Empty and absent properties are skipped. An unreadable value is
    skipped and logged as `kpis.stage_entry_unreadable` at WARNING. Use
    `read_hubspot_stage_events` to receive those problems as text instead.
    """
    events, problems = read_hubspot_stage_events(deals, stage_ids, zone)
    for problem in problems:
        log.warning("kpis.stage_entry_unreadable", problem=problem)
    return events


def read_hubspot_stage_events(
    deals: Iterable[tuple[str, Mapping[str, str | None]]], stage_ids: Iterable[str], zone: ZoneInfo,
) -> tuple[list[StageEvent], list[str]]:
    """Read the stage events of `stage_events_from_hubspot`, with one problem line per unreadable value.

    Events come in input order: deal by deal, and within a deal in `stage_ids` order.
    Entry times with an offset or in epoch milliseconds become aware datetimes in `zone`.
    A bare date stays a date, which the stage KPIs take as midnight in the reporting
    time zone, and an ISO datetime without an offset is read as wall time in `zone`.
    """
    stages = list(dict.fromkeys(stage_ids))
    events: list[StageEvent] = []
    problems: list[str] = []
    for deal_key, properties in deals:
        for stage in stages:
            name = HUBSPOT_ENTERED_PREFIX + stage
            raw = properties.get(name)
            if raw is None or not str(raw).strip():
                continue
            try:
                events.append(StageEvent(deal_key, stage, parse_entered_at(raw, zone)))
            except _Unreadable:
                problems.append(
                    f"deal {deal_key}: {name} {raw!r} is not an ISO 8601 date or datetime or epoch milliseconds. "
                    f"The entry into stage {stage} is left out of the stage history."
                )
    return events, problems


def parse_entered_at(raw: str | int, zone: ZoneInfo) -> date | datetime:
    """Read one HubSpot stage entry value (see `read_hubspot_stage_events` for the forms).

    Raises `ValueError` for any other value.
    """
    text = str(raw).strip()
    try:
        if _EPOCH_MILLISECONDS.match(text):
            return (_EPOCH + timedelta(milliseconds=int(text))).astimezone(zone)
        if _DATE_ONLY.match(text):
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        raise _Unreadable(f"unreadable stage entry {text!r}") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=zone)
    return moment.astimezone(zone)


def observed_stage_event(
    deal_key: str, previous_stage: str | None, new_stage: str | None, observed_at: datetime,
) -> StageEvent | None:
    """Record the stage change that a run saw in a deal's canonical stage, entered at `observed_at`.

    `previous_stage` is the stage at the last run (the synced values) and `new_stage` the
    stage now. Stages are compared after trimming spaces. Returns None when the stage did
    not change, when the new stage is empty, or when there is no previous stage. A deal
    seen for the first time has no known entry time, and recording the run time would
    make its stay look shorter than it was. Raises `ValueError` when `observed_at` has no
    time zone.
    """
    if observed_at.tzinfo is None:
        raise ValueError("observed_at must be timezone-aware, such as the run's start time in UTC")
    previous = _stage_text(previous_stage)
    new = _stage_text(new_stage)
    if previous is None or new is None or previous == new:
        return None
    # NOTE: the deal entered the stage at some time since the last run, and the run time
    # is the latest it can have been. Run more often to make the entry time more exact.
    return StageEvent(deal_key, new, observed_at)


def _stage_text(stage: str | None) -> str | None:
    if stage is None:
        return None
    return stage.strip() or None


def merge_stage_events(
    hubspot: Iterable[StageEvent], observed: Iterable[StageEvent], zone: ZoneInfo,
) -> list[StageEvent]:
    """Join HubSpot's stage events with the observed ones, counting each stage entry once.

    Events of the same deal and stage that are at most `SAME_ENTRY_WINDOW` after the
    last kept one are the same entry, and the earliest is kept. A deal that comes back
    to a stage more than a day after it was last seen entering it keeps both entries.
    Dates count as midnight in `zone`. Returns the kept events ordered by deal key, then
    by entry time, with HubSpot's event first at equal times.
    """
    grouped: dict[tuple[str, str], list[tuple[datetime, int, StageEvent]]] = defaultdict(list)
    for position, event in enumerate([*hubspot, *observed]):
        grouped[(event.deal_key, event.stage)].append((entered_moment(event.entered_at, zone), position, event))

    kept: list[tuple[str, datetime, int, StageEvent]] = []
    for (deal_key, _), entries in grouped.items():
        last: datetime | None = None
        for moment, position, event in sorted(entries, key=lambda entry: entry[:2]):
            if last is not None and moment - last <= SAME_ENTRY_WINDOW:
                continue
            kept.append((deal_key, moment, position, event))
            last = moment
    return [event for *_, event in sorted(kept, key=lambda entry: entry[:3])]
