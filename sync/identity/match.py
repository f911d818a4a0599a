"""Matching of contacts across the two systems: exact email first, fuzzy only where safe.

A wrong merge spreads one person's data over another's, and a missed match creates a
duplicate. So an email shared by several records of one side is reported as an
`Ambiguity` and none of those records is matched. A fuzzy match needs a near-equal
email and, for a score at the default threshold, agreeing names. Every record is matched
at most once, to its mutual best candidate, and the result does not depend on input
order or on which side is called left.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sync.identity.blocking import Address, DomainRelation, candidate_pairs
from sync.identity.email import normalize_email, split_email
from sync.identity.scoring import MAX_EVIDENCE_BONUS, Evidence, ScoredPair, score_pair

DEFAULT_FUZZY_THRESHOLD = 92.0
# Fuzzy pairs scoring at least this, but under the threshold, go to `MatchResult.possible`.
DEFAULT_REVIEW_THRESHOLD = 75.0


class MatchMethod(enum.StrEnum):
    EXACT = "exact"
    FUZZY = "fuzzy"


@dataclass(frozen=True)
class Candidate:
    """A contact reduced to what matching compares. `id` is the record id in its own system."""

    id: str
    email: str | None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    company: str | None = None


@dataclass(frozen=True)
class Match:
    """A pair of records judged to be one person, with the score (0..100) and its reasons."""

    left_id: str
    right_id: str
    score: float
    method: MatchMethod
    evidence: str


@dataclass(frozen=True)
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


def match_contacts(
    left: Sequence[Candidate],
    right: Sequence[Candidate],
    *,
    fuzzy_threshold: float = DEFAULT_FUZZY_THRESHOLD,
    review_threshold: float = DEFAULT_REVIEW_THRESHOLD,
) -> MatchResult:
    """Match contacts by exact normalised email, then by fuzzy email within blocks.

    `fuzzy_threshold` and `review_threshold` are scores from 0 to 100 (see
    `sync.identity.scoring` for how a score is composed). Records without a valid email
    stay unmatched.
    """
    left_emails = [normalize_email(candidate.email) for candidate in left]
    right_emails = [normalize_email(candidate.email) for candidate in right]
    result = MatchResult()

    exact = exact_key_matches(left_emails, right_emails, key_name="email")
    left_ids = [candidate.id for candidate in left]
    right_ids = [candidate.id for candidate in right]
    result.ambiguous.extend(ambiguities_of(exact.ambiguous, left_ids, right_ids))
    for i, j in exact.pairs:
        result.matches.append(_exact_match(left[i], right[j], f"same email {left_emails[i]}"))

    left_rest = [i for i in exact.unused_left if left_emails[i] is not None]
    right_rest = [j for j in exact.unused_right if right_emails[j] is not None]
    fuzzy, possible = _fuzzy_matches(
        left, right, left_emails, right_emails, left_rest, right_rest, fuzzy_threshold, review_threshold
    )
    result.matches.extend(fuzzy)
    result.possible.extend(possible)

    finish_result(result, left_ids, right_ids)
    return result


@dataclass
class ExactKeyResult:
    """Indexes paired by an exact key, the ambiguous key groups, and the indexes left over."""

    pairs: list[tuple[int, int]]
    ambiguous: list[tuple[str, list[int], list[int]]]  # (reason, left indexes, right indexes)
    unused_left: list[int]
    unused_right: list[int]


def exact_key_matches(
    left_keys: Sequence[str | None],
    right_keys: Sequence[str | None],
    *,
    key_name: str,
) -> ExactKeyResult:
    """Pair indexes whose key is equal and unique on both sides.

    A key on more than one index of either side makes all indexes with that key
    ambiguous. Indexes with a None key are left over.
    """
    left_groups = _group_indexes(left_keys)
    right_groups = _group_indexes(right_keys)
    result = ExactKeyResult([], [], [], [])
    used_left: set[int] = set()
    used_right: set[int] = set()

    for key in sorted(left_groups.keys() | right_groups.keys()):
        left_indexes = left_groups.get(key, [])
        right_indexes = right_groups.get(key, [])
        if len(left_indexes) == 1 and len(right_indexes) == 1:
            result.pairs.append((left_indexes[0], right_indexes[0]))
        elif len(left_indexes) > 1 or len(right_indexes) > 1:
            reason = (
                f"{len(left_indexes)} left and {len(right_indexes)} right records share the "
                f"{key_name} {key}; merge or correct the duplicates, then run again"
            )
            result.ambiguous.append((reason, left_indexes, right_indexes))
        else:
            # The key is on one record of one side only: it stays free for fuzzy matching.
            continue

        used_left.update(left_indexes)
        used_right.update(right_indexes)

    result.unused_left = [i for i in range(len(left_keys)) if i not in used_left]
    result.unused_right = [j for j in range(len(right_keys)) if j not in used_right]
    return result


def select_mutual_best(
    scored: Sequence[ScoredPair], threshold: float, review_threshold: float
) -> tuple[list[ScoredPair], list[ScoredPair]]:
    """Split scored pairs into matches and pairs for review.

    A pair is a match when its score reaches `threshold` and it is the single best pair
    of both its records, so a tie for the best score matches neither record. Pairs for
    review score at least `review_threshold` and join two records that are both unmatched.
    """
    best_left = _best_scores(scored, lambda pair: pair.left)
    best_right = _best_scores(scored, lambda pair: pair.right)

    chosen = [
        pair
        for pair in scored
        if pair.score >= threshold
        and best_left[pair.left] == (pair.score, 1)
        and best_right[pair.right] == (pair.score, 1)
    ]
    matched_left = {pair.left for pair in chosen}
    matched_right = {pair.right for pair in chosen}
    review = [
        pair
        for pair in scored
        if pair.score >= review_threshold
        and pair.left not in matched_left
        and pair.right not in matched_right
    ]
    return chosen, review


def _fuzzy_matches(
    left: Sequence[Candidate],
    right: Sequence[Candidate],
    left_emails: Sequence[str | None],
    right_emails: Sequence[str | None],
    left_rest: list[int],
    right_rest: list[int],
    threshold: float,
    review_threshold: float,
) -> tuple[list[Match], list[Match]]:
    left_addresses = [Address(*split_email(left_emails[i])) for i in left_rest]  # type: ignore[arg-type]
    right_addresses = [Address(*split_email(right_emails[j])) for j in right_rest]  # type: ignore[arg-type]
    evidence_left = [Evidence.of(left[i]) for i in left_rest]
    evidence_right = [Evidence.of(right[j]) for j in right_rest]

    pairs = candidate_pairs(left_addresses, right_addresses, min_similarity=_min_similarity(review_threshold))
    scored = [score_pair(pair, evidence_left[pair.left], evidence_right[pair.right]) for pair in pairs]
    chosen, review = select_mutual_best(scored, threshold, review_threshold)

    def to_match(pair: ScoredPair) -> Match:
        left_id = left[left_rest[pair.left]].id
        right_id = right[right_rest[pair.right]].id
        return Match(left_id, right_id, pair.score, MatchMethod.FUZZY, pair.evidence)

    return [to_match(pair) for pair in chosen], [to_match(pair) for pair in review]


def _min_similarity(review_threshold: float) -> float:
    """Return the lowest local-part similarity (0..1) that can still reach `review_threshold`."""
    return max(0.0, (review_threshold - MAX_EVIDENCE_BONUS) / 100)


def _best_scores(scored: Sequence[ScoredPair], side: Callable[[ScoredPair], int]) -> dict[int, tuple[float, int]]:
    """Map each record index to its best score and how many pairs reach it."""
    best: dict[int, tuple[float, int]] = {}
    for pair in scored:
        index = side(pair)
        score, count = best.get(index, (float("-inf"), 0))
        if pair.score > score:
            best[index] = (pair.score, 1)
        elif pair.score == score:
            best[index] = (score, count + 1)
    return best


def _group_indexes(keys: Sequence[str | None]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for index, key in enumerate(keys):
        if key is not None:
            groups[key].append(index)
    return groups


def ambiguities_of(
    groups: Sequence[tuple[str, list[int], list[int]]], left_ids: Sequence[str], right_ids: Sequence[str]
) -> list[Ambiguity]:
    """Turn the ambiguous index groups of `exact_key_matches` into `Ambiguity` values."""
    return [
        Ambiguity(
            tuple(sorted(left_ids[i] for i in left_indexes)),
            tuple(sorted(right_ids[j] for j in right_indexes)),
            reason,
        )
        for reason, left_indexes, right_indexes in groups
    ]


def _exact_match(left: Candidate, right: Candidate, evidence: str) -> Match:
    return Match(left.id, right.id, 100.0, MatchMethod.EXACT, evidence)


def finish_result(result: MatchResult, left_ids: Sequence[str], right_ids: Sequence[str]) -> None:
    """Sort the result and list every id that is neither matched nor ambiguous."""
    taken_left = {match.left_id for match in result.matches}
    taken_right = {match.right_id for match in result.matches}
    for ambiguity in result.ambiguous:
        taken_left.update(ambiguity.left_ids)
        taken_right.update(ambiguity.right_ids)

    result.unmatched_left = sorted(set(left_ids) - taken_left)
    result.unmatched_right = sorted(set(right_ids) - taken_right)
    result.matches.sort(key=lambda match: (match.left_id, match.right_id))
    result.possible.sort(key=lambda match: (match.left_id, match.right_id))
    result.ambiguous.sort(key=lambda ambiguity: (ambiguity.left_ids, ambiguity.right_ids))
