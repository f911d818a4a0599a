"""Text transforms applied to string values on their way to canonical values.

Transforms run on values read from either system, in the order the mapping lists them.
They are not reversed on the way out: a write carries the canonical (transformed) text.
`phone` rewrites a number in E.164 (`+14155550123`) with the `phonenumbers` package; a
number without a country code is read in the mapping's `phone_region`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable

import phonenumbers

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_USERINFO = re.compile(r"^[^/?#@]*@")
_PORT = re.compile(r":\d*$")


class Transform(enum.StrEnum):
    TRIM = "trim"
    LOWERCASE = "lowercase"
    UPPERCASE = "uppercase"
    COLLAPSE_WHITESPACE = "collapse_whitespace"
    DOMAIN = "domain"
    TITLE = "title"
    PHONE = "phone"


def collapse_whitespace(text: str) -> str:
    """Replace each run of whitespace with one space, and drop it at both ends."""
    return " ".join(text.split())


def to_domain(text: str) -> str:
    """Reduce a URL or host to its bare domain: no scheme, user, `www.`, port, path or query.

    `https://www.Example.com:8443/about?x=1` becomes `Example.com`; case is kept, so list
    `lowercase` as well to compare domains without regard to case.
    """
    host = _SCHEME.sub("", text.strip())
    host = re.split(r"[/?#]", host, maxsplit=1)[0]
    host = _USERINFO.sub("", host)
    host = _PORT.sub("", host).rstrip(".")
    if host[:4].lower() == "www.":
        host = host[4:]
    return host


def to_e164(text: str, region: str | None) -> str:
    """Rewrite a phone number in E.164; return the text trimmed when it is not a valid number.

    `region` is an ISO 3166 country code such as US or DE, used for numbers written without
    a `+` country code. An extension (`ext. 12`) is dropped.
    """
    stripped = text.strip()
    if not stripped:
        return stripped
    try:
        number = phonenumbers.parse(stripped, region)
    except phonenumbers.NumberParseException:
        return stripped
    # NOTE: an invalid number passes through unchanged rather than failing the record,
    # so both sides still compare equal when they hold the same invalid text.
    if not phonenumbers.is_valid_number(number):
        return stripped
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_region(code: str) -> bool:
    """Return whether `code` is a region that `phonenumbers` knows, such as US or GB."""
    return code in phonenumbers.SUPPORTED_REGIONS


_FUNCTIONS: dict[Transform, Callable[[str], str]] = {
    Transform.TRIM: str.strip,
    Transform.LOWERCASE: str.lower,
    Transform.UPPERCASE: str.upper,
    Transform.COLLAPSE_WHITESPACE: collapse_whitespace,
    Transform.DOMAIN: to_domain,
    Transform.TITLE: str.title,
}


def apply_transforms(text: str, transforms: Iterable[Transform], phone_region: str | None = None) -> str:
    """Apply `transforms` to `text` in order; `phone_region` serves the `phone` transform."""
    for transform in transforms:
        if transform is Transform.PHONE:
            text = to_e164(text, phone_region)
        else:
            text = _FUNCTIONS[transform](text)
    return text
