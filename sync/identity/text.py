"""Normalisation of the names and phone numbers that matching compares as evidence."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

_NON_WORD = re.compile(r"[^\w]+")
_NON_DIGIT = re.compile(r"\D+")
# Digits compared from the end of a phone number, so that a country or trunk prefix
# ("+44 20 ..." against "020 ...") does not count as a difference.
PHONE_TAIL_DIGITS = 9
_MIN_PHONE_DIGITS = 7


def fold_text(raw: str | None) -> str | None:
    """Return `raw` in NFKC, casefolded, without accents or punctuation, or None if empty.

    "  José-Luis " becomes "jose luis"; dots vanish so that "J." becomes "j".
    """
    if raw is None:
        return None

    text = unicodedata.normalize("NFKD", raw)
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = unicodedata.normalize("NFKC", text).casefold().replace(".", "")
    text = _NON_WORD.sub(" ", text).replace("_", " ")
    text = " ".join(text.split())
    return text or None


def normalize_phone(raw: str | None, region: str | None = None) -> str | None:
    """Return a phone number in E.164 form ("+14155550100"), or None when it cannot be placed.

    `region` is the ISO 3166 country ("US", "GB") assumed for numbers written without a
    country code; with None only numbers starting with "+" or an international prefix
    are placed. An extension ("x123", "ext. 4") is dropped. Uses the `phonenumbers`
    metadata, so a number with an impossible length for its country returns None.
    """
    if not raw or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_key(raw: str | None, region: str | None = None) -> str | None:
    """Return the last digits of a phone number, or None when it has too few digits.

    The number is first put in E.164 form where `normalize_phone` can place it, which
    drops an extension and a trunk prefix such as "(0)". Otherwise an extension written
    as "x123" is cut off and the remaining digits are taken.
    """
    if raw is None:
        return None

    normalized = normalize_phone(raw, region)
    number = normalized or re.split(r"(?i)\s*(?:x|ext\.?)\s*\d+\s*$", raw)[0]
    digits = _NON_DIGIT.sub("", number)
    if len(digits) < _MIN_PHONE_DIGITS:
        return None
    return digits[-PHONE_TAIL_DIGITS:]


def phones_agree(left: str, right: str) -> bool:
    """Tell whether two `phone_key` values can be the same number.

    A shorter key matches when it is the end of the longer one (a local number against
    the same number with its area code).
    """
    if len(left) > len(right):
        left, right = right, left
    return right.endswith(left)


# Legal-form words dropped from the end of a company name, after punctuation is removed
# ("L.L.C." is "llc" by then).
LEGAL_SUFFIXES: frozenset[str] = frozenset(
    {
        "inc", "incorporated", "ltd", "limited", "llc", "llp", "lp", "plc", "corp",
        "corporation", "co", "company", "gmbh", "ag", "kg", "sa", "sas", "sarl", "srl",
        "spa", "bv", "nv", "oy", "ab", "as", "pty", "pte", "kk",
    }
)


def normalize_company_name(raw: str | None) -> str | None:
    """Return a company name as a comparable key, or None if nothing is left.

    Casefolds, drops accents and punctuation, collapses whitespace and drops trailing
    legal forms: "ACME, Inc." and "Acme Inc" both become "acme". A name made only of a
    legal form ("Company") is kept as it is.
    """
    if not raw:
        return None

    words = (fold_text(raw.replace("&", " and ")) or "").split()
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words) or None
