"""Matching of contacts across the two systems: exact keys first, fuzzy only where safe.

A wrong merge spreads one person's data over another's, and a missed match creates a
duplicate. So an email shared by several records of one side is reported as an
`Ambiguity` and none of those records is matched. A fuzzy match needs a near-equal
email and, for a score at the default threshold, agreeing names. Every record is matched
at most once, to its mutual best candidate, and the result does not depend on input
order or on which side is called left.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sync.identity.blocking import Address, candidate_pairs
from sync.identity.email import EmailRules, normalize_email, split_email
from sync.identity.keys import KeyPair, NameKey, extra_email_pairs, name_key_pairs
from sync.identity.results import Ambiguity, Candidate, Match, MatchMethod, MatchResult
from sync.identity.scoring import MAX_EVIDENCE_BONUS, Evidence, ScoredPair, score_pair

__all__ = ["Ambiguity", "Candidate", "Match", "MatchMethod", "MatchResult", "match_contacts"]

DEFAULT_FUZZY_THRESHOLD = 92.0
# Fuzzy pairs scoring at least this, but under the threshold, go to `MatchResult.possible`.
DEFAULT_REVIEW_THRESHOLD = 75.0


@dataclass(frozen=True)
class ContactMatching:
    """The settings of one `match_contacts` call.

    Thresholds are scores from 0 to 100 (see `sync.identity.scoring`). `phone_region` is
    the ISO 3166 country assumed for phone numbers written without a country code.
    """

    fuzzy_threshold: float = DEFAULT_FUZZY_THRESHOLD
    review_threshold: float = DEFAULT_REVIEW_THRESHOLD
    rules: EmailRules = EmailRules()
    phone_region: str | None = None


def match_contacts(
    left: Sequence[Candidate],
    right: Sequence[Candidate],
    *,
    fuzzy_threshold: float = DEFAULT_FUZZY_THRESHOLD,
    review_threshold: float = DEFAULT_REVIEW_THRESHOLD,
    rules: EmailRules = EmailRules(),
    phone_region: str | None = None,
) -> MatchResult:
    """Match contacts in stages; each stage sees only the records earlier stages left open.

    `left` are the HubSpot records and `right` the Dynamics ones, as reasons name them.

    1. The same normalised primary email. An email on several records of one side
       makes them all ambiguous.
    2. The same normalised email among all addresses of a record (`Candidate.emails`).
    3. A near-equal primary email within blocks, scored with name, phone and company.
    4. The same full name and phone, then the same full name and company. A pair whose
       records both have valid emails is only possible (it reached this stage, so the
       emails differ).

    Pairs of stages 3 and 4 that are not matched but score at least `review_threshold`
    go to `possible`; a possible pair never involves a matched or ambiguous record.
    """
    settings = ContactMatching(fuzzy_threshold, review_threshold, rules, phone_region)
    left_emails = [normalize_email(candidate.email, rules) for candidate in left]
    right_emails = [normalize_email(candidate.email, rules) for candidate in right]
    run = _Run(left, right, MatchResult())

    exact = exact_key_matches(left_emails, right_emails, key_name="email")
    run.result.ambiguous.extend(ambiguities_of(exact.ambiguous, run.left_ids, run.right_ids))
    for i, j in exact.pairs:
        run.result.matches.append(_exact_match(left[i], right[j], f"same email {left_emails[i]}"))
    run.open_left, run.open_right = exact.unused_left, exact.unused_right

    run.add_pairs(extra_email_pairs(left, right, run.open_left, run.open_right, rules))
    _fuzzy_stage(run, left_emails, right_emails, settings)
    _name_stages(run, left_emails, right_emails, settings)

    run.drop_taken_possible()
    finish_result(run.result, run.left_ids, run.right_ids)
    return run.result


class _Run:
    """The records of one `match_contacts` call, the result so far and the open indexes."""

    def __init__(self, left: Sequence[Candidate], right: Sequence[Candidate], result: MatchResult) -> None:
        self.left, self.right, self.result = left, right, result
        self.left_ids = [candidate.id for candidate in left]
        self.right_ids = [candidate.id for candidate in right]
        self.open_left: list[int] = list(range(len(left)))
        self.open_right: list[int] = list(range(len(right)))

    def add_pairs(self, pairs: Sequence[KeyPair]) -> None:
        """Add key pairs: matches close their records, possible pairs leave them open."""
        closed_left, closed_right = set(), set()
        for pair in pairs:
            match = Match(self.left_ids[pair.left], self.right_ids[pair.right], pair.score, pair.method, pair.evidence)
            if pair.possible:
                self.result.possible.append(match)
                continue
            self.result.matches.append(match)
            closed_left.add(pair.left)
            closed_right.add(pair.right)
        self.close(closed_left, closed_right)

    def close(self, left: set[int], right: set[int]) -> None:
        self.open_left = [i for i in self.open_left if i not in left]
        self.open_right = [j for j in self.open_right if j not in right]

    def drop_taken_possible(self) -> None:
        """Remove possible pairs of records that a later stage matched or held as ambiguous."""
        taken_left = {match.left_id for match in self.result.matches}
        taken_right = {match.right_id for match in self.result.matches}
        for ambiguity in self.result.ambiguous:
            taken_left.update(ambiguity.left_ids)
            taken_right.update(ambiguity.right_ids)
        unique = {(m.left_id, m.right_id): m for m in self.result.possible if m.left_id not in taken_left and m.right_id not in taken_right}
        self.result.possible = list(unique.values())


def _fuzzy_stage(run: _Run, left_emails: Sequence[str | None], right_emails: Sequence[str | None], settings: ContactMatching) -> None:
    left_rest = [i for i in run.open_left if left_emails[i] is not None]
    right_rest = [j for j in run.open_right if right_emails[j] is not None]
    chosen, review = _fuzzy_matches(
        run.left, run.right, left_emails, right_emails, left_rest, right_rest, settings
    )
    run.result.possible.extend(review)
    run.result.matches.extend(chosen)
    matched_left = {match.left_id for match in chosen}
    matched_right = {match.right_id for match in chosen}
    run.close(
        {i for i in run.open_left if run.left_ids[i] in matched_left},
        {j for j in run.open_right if run.right_ids[j] in matched_right},
    )


def _name_stages(run: _Run, left_emails: Sequence[str | None], right_emails: Sequence[str | None], settings: ContactMatching) -> None:
    has_email = ([email is not None for email in left_emails], [email is not None for email in right_emails])
    for key in (NameKey.PHONE, NameKey.COMPANY):
        pairs, crowded_left, crowded_right = name_key_pairs(
            run.left, run.right, run.open_left, run.open_right, key,
            has_email=has_email, phone_region=settings.phone_region,
        )
        run.add_pairs([pair for pair in pairs if pair.score >= settings.review_threshold or not pair.possible])
        # A name key shared by several records of a side leaves them to a person, so a
        # later, weaker key must not pair them either.
        run.close(crowded_left, crowded_right)


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
                f"{len(left_indexes)} HubSpot and {len(right_indexes)} Dynamics records share the {key_name} {key}: "
                "accept one pair with `crmsync review accept ID`, or merge or correct the duplicates"
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
    settings: ContactMatching,
) -> tuple[list[Match], list[Match]]:
    threshold, review_threshold = settings.fuzzy_threshold, settings.review_threshold
    left_addresses = [Address(*split_email(left_emails[i])) for i in left_rest]  # type: ignore[arg-type]
    right_addresses = [Address(*split_email(right_emails[j])) for j in right_rest]  # type: ignore[arg-type]
    evidence_left = [Evidence.of(left[i], settings.phone_region) for i in left_rest]
    evidence_right = [Evidence.of(right[j], settings.phone_region) for j in right_rest]

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
