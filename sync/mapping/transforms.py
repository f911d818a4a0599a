"""Text transforms applied to string values on their way to canonical values.

Transforms run on values read from either system, in the order the mapping lists them.
They are not reversed on the way out: a write carries the canonical (transformed) text.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_USERINFO = re.compile(r"^[^/?#@]*@")
_PORT = re.compile(r":\d*$")


class Transform(enum.StrEnum):
    TRIM = "trim"
    LOWERCASE = "lowercase"
    UPPERCASE = "uppercase"
    COLLAPSE_WHITESPACE = "collapse_whitespace"
    DOMAIN = "domain"


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


_FUNCTIONS: dict[Transform, Callable[[str], str]] = {
    Transform.TRIM: str.strip,
    Transform.LOWERCASE: str.lower,
    Transform.UPPERCASE: str.upper,
    Transform.COLLAPSE_WHITESPACE: collapse_whitespace,
    Transform.DOMAIN: to_domain,
}


def apply_transforms(text: str, transforms: Iterable[Transform]) -> str:
    """Apply `transforms` to `text` in order."""
    for transform in transforms:
        text = _FUNCTIONS[transform](text)
    return text
