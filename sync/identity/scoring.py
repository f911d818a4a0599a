"""The score of a fuzzy contact pair: email similarity adjusted by name, phone and company.

The score starts at the similarity of the local parts (0..100, optimal string alignment),
loses DOMAIN_TYPO_PENALTY when the domains are only near typos of each other, and then
moves by the evidence below. A field counts only when both records have it.

| evidence    | agrees | differs |
|-------------|--------|---------|
| first name  | +5     | -30     |
| last name   | +5     | -30     |
| phone       | +5     | -5      |
| company     | +3     | -3      |

So jhon.smith and john.smith at one domain (90) with the same names score 100, while
john.smith and jon.smith with first names John and Jon score 65. A first name given as
an initial that fits the other name counts as neither agreeing nor differing. The score
is clamped to 0..100 and is symmetric in its two records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sync.identity.blocking import CandidatePair, DomainRelation
from sync.identity.text import fold_text, normalize_company_name, phone_key, phones_agree

if TYPE_CHECKING:
    from sync.identity.results import Candidate

DOMAIN_TYPO_PENALTY = 10.0
NAME_AGREES, NAME_DIFFERS = 5.0, -30.0
PHONE_AGREES, PHONE_DIFFERS = 5.0, -5.0
COMPANY_AGREES, COMPANY_DIFFERS = 3.0, -3.0
# The maximum that evidence can add. Pairs whose email similarity cannot reach the
# review threshold even with this bonus are never scored.
MAX_EVIDENCE_BONUS = 2 * NAME_AGREES + PHONE_AGREES + COMPANY_AGREES


@dataclass(frozen=True)
class Evidence:
    """The normalised fields of one candidate that can raise or lower a score."""

    first_name: str | None
    last_name: str | None
    phone: str | None
    company: str | None

    @classmethod
    def of(cls, candidate: Candidate, phone_region: str | None = None) -> Evidence:
        """Collect the evidence of `candidate`; `phone_region` as in `normalize_phone`."""
        return cls(
            first_name=fold_text(candidate.first_name),
            last_name=fold_text(candidate.last_name),
            phone=phone_key(candidate.phone, phone_region),
            company=normalize_company_name(candidate.company),
        )


@dataclass(frozen=True)
class ScoredPair:
    """A candidate pair with its final score (0..100) and a readable account of it."""

    left: int
    right: int
    score: float
    evidence: str


def score_pair(pair: CandidatePair, left: Evidence, right: Evidence) -> ScoredPair:
    """Score one candidate pair from its email similarity and the records' evidence."""
    score = round(100 * pair.similarity, 2)
    notes = [f"email local part {score:g}/100 ({pair.relation})"]
    if pair.relation is DomainRelation.TYPO:
        score -= DOMAIN_TYPO_PENALTY
        notes.append(f"domain typo -{DOMAIN_TYPO_PENALTY:g}")

    for label, adjustment in _adjustments(left, right):
        score += adjustment
        notes.append(f"{label} {adjustment:+g}")

    score = min(100.0, max(0.0, round(score, 2)))
    return ScoredPair(pair.left, pair.right, score, "; ".join(notes))


def _adjustments(left: Evidence, right: Evidence) -> list[tuple[str, float]]:
    checks = (
        ("first name", left.first_name, right.first_name, _first_names_agree, NAME_AGREES, NAME_DIFFERS),
        ("last name", left.last_name, right.last_name, str.__eq__, NAME_AGREES, NAME_DIFFERS),
        ("phone", left.phone, right.phone, phones_agree, PHONE_AGREES, PHONE_DIFFERS),
        ("company", left.company, right.company, str.__eq__, COMPANY_AGREES, COMPANY_DIFFERS),
    )
    adjustments = []
    for label, left_value, right_value, agree, bonus, penalty in checks:
        if left_value is None or right_value is None:
            continue

        verdict = agree(left_value, right_value)
        if verdict is True:
            adjustments.append((f"{label} agrees", bonus))
        elif verdict is False:
            adjustments.append((f"{label} differs", penalty))
    return adjustments


def _first_names_agree(left: str, right: str) -> bool | None:
    """Compare two first names; None when one is an initial that fits the other."""
    if left == right:
        return True
    if (len(left) == 1 or len(right) == 1) and left[0] == right[0]:
        return None
    return False
