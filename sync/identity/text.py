"""Normalisation of the names and phone numbers that matching compares as evidence."""

from __future__ import annotations

import re
import unicodedata

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


def phone_key(raw: str | None) -> str | None:
    """Return the last digits of a phone number, or None when it has too few digits.

    An extension written as "x123" is dropped before the digits are taken.
    """
    if raw is None:
        return None

    number = re.split(r"(?i)\s*(?:x|ext\.?)\s*\d+\s*$", raw)[0]
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
