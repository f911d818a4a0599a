"""The values that contact and company matching take and return."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class MatchMethod(enum.StrEnum):
    """The matching stage that accepted a pair."""

    EXACT = "exact"
    FUZZY = "fuzzy"
    NAME_PHONE = "name and phone"
    NAME_COMPANY = "name and company"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A contact reduced to what matching compares. `id` is the record id in its own system.

    `email` is the primary address. `emails` are further addresses of the same record,
    such as HubSpot's `hs_additional_emails` (see `split_additional_emails`) or
    Dataverse's emailaddress2 and emailaddress3; they count only for exact matching.
    """

    id: str
    email: str | None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    company: str | None = None
    emails: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Match:
    """A pair of records judged to be one person, with the score (0..100) and its reasons."""

    left_id: str
    right_id: str
    score: float
    method: MatchMethod
    evidence: str


@dataclass(frozen=True, slots=True)
class Ambiguity:
    """Records that share one match key on a side; none of them is matched."""

    left_ids: tuple[str, ...]
    right_ids: tuple[str, ...]
    reason: str


@dataclass
class MatchResult:
    """The outcome of matching two record sets.

    Every input id appears in exactly one of `matches`, `ambiguous` and the two
    `unmatched` lists. The ids of a `possible` pair also appear as unmatched, so a caller
    that creates records for unmatched ids should check `possible` first.
    """

    matches: list[Match] = field(default_factory=list)
    ambiguous: list[Ambiguity] = field(default_factory=list)
    possible: list[Match] = field(default_factory=list)
    unmatched_left: list[str] = field(default_factory=list)
    unmatched_right: list[str] = field(default_factory=list)
