"""Exact match keys besides the primary email: further addresses, name with phone or company.

These stages run on the records that exact and fuzzy email matching left open. Like the
primary email stage they pair a key only when exactly one record of each side has it,
so the result does not depend on input order or on which side is called left.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sync.identity.email import EmailRules, normalize_email
from sync.identity.results import Candidate, MatchMethod
from sync.identity.text import fold_text, normalize_company_name, normalize_phone, phone_key, phones_agree

# Scores of the name stages. A pair whose records both have valid, different emails is
# only proposed for review: one person may have two addresses, but two people with one
# name at one company is common enough that a merge needs a person's decision.
NAME_PHONE_SCORE = 95.0
NAME_COMPANY_SCORE = 90.0
NAME_WITH_OTHER_EMAIL_SCORE = 80.0
# Separators of several addresses in one HubSpot property value.
_ADDITIONAL_SEPARATORS = (";", ",")


class NameKey(enum.Enum):
    PHONE = MatchMethod.NAME_PHONE
    COMPANY = MatchMethod.NAME_COMPANY


@dataclass(frozen=True, slots=True)
class KeyPair:
    """Indexes of a left and a right record paired by a key, and what decided it."""

    left: int
    right: int
    score: float
    method: MatchMethod
    evidence: str
    possible: bool = False


def split_additional_emails(raw: str | None) -> tuple[str, ...]:
    """Split a HubSpot `hs_additional_emails` value ("a@x.com;b@y.com") into addresses.

    Empty parts are dropped; the addresses are returned as written, in their order.
    """
    if not raw:
        return ()
    text = raw
    for separator in _ADDITIONAL_SEPARATORS[1:]:
        text = text.replace(separator, _ADDITIONAL_SEPARATORS[0])
    return tuple(part.strip() for part in text.split(_ADDITIONAL_SEPARATORS[0]) if part.strip())


def all_emails(candidate: Candidate, rules: EmailRules) -> set[str]:
    """Return the normalised primary and further addresses of a record."""
    found = {normalize_email(raw, rules) for raw in (candidate.email, *candidate.emails)}
    found.discard(None)
    return found  # type: ignore[return-value]


def extra_email_pairs(
    left: Sequence[Candidate],
    right: Sequence[Candidate],
    open_left: Sequence[int],
    open_right: Sequence[int],
    rules: EmailRules,
) -> list[KeyPair]:
    """Pair open records that share one address among all their addresses.

    An address on more than one open record of a side is ignored, and a record whose
    addresses lead to two different records of the other side is not paired.
    """
    left_by_email = _records_by_email(left, open_left, rules)
    right_by_email = _records_by_email(right, open_right, rules)
    partners_left: dict[int, set[int]] = defaultdict(set)
    partners_right: dict[int, set[int]] = defaultdict(set)
    shared: dict[tuple[int, int], str] = {}

    for email in sorted(left_by_email.keys() & right_by_email.keys()):
        lefts, rights = left_by_email[email], right_by_email[email]
        if len(lefts) != 1 or len(rights) != 1:
            continue
        i, j = lefts[0], rights[0]
        partners_left[i].add(j)
        partners_right[j].add(i)
        shared.setdefault((i, j), email)

    pairs = []
    for (i, j), email in sorted(shared.items()):
        if partners_left[i] == {j} and partners_right[j] == {i}:
            evidence = f"same email {email} among the records' further addresses"
            pairs.append(KeyPair(i, j, 100.0, MatchMethod.EXACT, evidence))
    return pairs


def name_key_pairs(
    left: Sequence[Candidate],
    right: Sequence[Candidate],
    open_left: Sequence[int],
    open_right: Sequence[int],
    key: NameKey,
    *,
    has_email: tuple[Sequence[bool], Sequence[bool]],
    phone_region: str | None,
) -> tuple[list[KeyPair], set[int], set[int]]:
    """Pair open records with the same full name and the same phone or company.

    Returns the pairs and the left and right indexes whose key is on several records of
    a side; callers keep those out of later name stages. `has_email` tells, per record
    index, whether the record has a valid primary email.
    """
    left_keys = {i: _name_key(left[i], key, phone_region) for i in open_left}
    right_keys = {j: _name_key(right[j], key, phone_region) for j in open_right}
    left_groups = _group(left_keys)
    right_groups = _group(right_keys)

    pairs = []
    crowded_left: set[int] = set()
    crowded_right: set[int] = set()
    for value in sorted(left_groups.keys() & right_groups.keys()):
        lefts, rights = left_groups[value], right_groups[value]
        if len(lefts) > 1 or len(rights) > 1:
            crowded_left.update(lefts)
            crowded_right.update(rights)
            continue
        i, j = lefts[0], rights[0]
        both_emails = has_email[0][i] and has_email[1][j]
        pairs.append(_name_pair(left[i], right[j], i, j, key, both_emails, phone_region))
    return pairs, crowded_left, crowded_right


def _name_pair(
    left: Candidate, right: Candidate, i: int, j: int, key: NameKey, both_emails: bool, phone_region: str | None
) -> KeyPair:
    name = " ".join(filter(None, (fold_text(left.first_name), fold_text(left.last_name))))
    score = NAME_PHONE_SCORE if key is NameKey.PHONE else NAME_COMPANY_SCORE
    evidence = f"same name {name} and same {key.name.lower()}"
    if both_emails:
        evidence += f", but the emails {left.email} and {right.email} differ"
        return KeyPair(i, j, NAME_WITH_OTHER_EMAIL_SCORE, key.value, evidence, possible=True)

    left_phone, right_phone = phone_key(left.phone, phone_region), phone_key(right.phone, phone_region)
    if key is NameKey.COMPANY and left_phone and right_phone and not phones_agree(left_phone, right_phone):
        evidence += ", but the phones differ"
        return KeyPair(i, j, NAME_WITH_OTHER_EMAIL_SCORE, key.value, evidence, possible=True)
    return KeyPair(i, j, score, key.value, evidence)


def _name_key(candidate: Candidate, key: NameKey, phone_region: str | None) -> str | None:
    """Return "first last|phone" or "first last|company", or None when a part is missing."""
    first, last = fold_text(candidate.first_name), fold_text(candidate.last_name)
    if first is None or last is None:
        return None
    if key is NameKey.PHONE:
        other = normalize_phone(candidate.phone, phone_region) or _local_digits(candidate.phone)
    else:
        other = normalize_company_name(candidate.company)
    if other is None:
        return None
    return f"{first} {last}|{other}"


def _local_digits(raw: str | None) -> str | None:
    """Key a number that phonenumbers cannot place (no country code, no region) by its digits."""
    digits = phone_key(raw, None)
    return None if digits is None else f"local:{digits}"


def _records_by_email(candidates: Sequence[Candidate], indexes: Sequence[int], rules: EmailRules) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for index in indexes:
        for email in all_emails(candidates[index], rules):
            groups[email].append(index)
    return groups


def _group(keys: dict[int, str | None]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for index, value in keys.items():
        if value is not None:
            groups[value].append(index)
    return groups
