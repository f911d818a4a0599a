"""Email normalisation: one comparable key per person's address.

`normalize_email` turns what a CRM field contains (case, stray spaces, a display name,
several addresses) into one lowercase address, or None when there is no valid one.
Provider rules are applied only where the provider defines them, and each rule can be
switched off in `EmailRules`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Domains whose mail service delivers `local+tag@domain` to `local@domain`.
# Yahoo is absent on purpose: it uses `-` for its disposable addresses, and a `+` there is
# part of the mailbox name.
# NOTE: hand-kept list of the main domains; regional variants (hotmail.fr, outlook.de) are
# not included, so their plus tags are kept.
PLUS_TAG_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "fastmail.com",
        "fastmail.fm",
        "protonmail.com",
        "protonmail.ch",
        "proton.me",
        "pm.me",
    }
)
GMAIL_DOMAINS: frozenset[str] = frozenset({"gmail.com", "googlemail.com"})

# A token that contains an `@`, cut at the characters that separate addresses or wrap them.
_ADDRESS_TOKEN = re.compile(r"[^\s<>,;\"'()\[\]]+@[^\s<>,;\"'()\[\]]+")
# Characters of an unquoted local part (RFC 5322 atext) plus dots; \w admits UTF-8 mailboxes.
_LOCAL_PART = re.compile(r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*")
_DOMAIN_LABEL = re.compile(r"[^\W_](?:(?:[^\W_]|-)*[^\W_])?")
_MAX_LOCAL_LENGTH = 64
_MAX_ADDRESS_LENGTH = 254


@dataclass(frozen=True)
class EmailRules:
    """Provider rules that `normalize_email` applies; each can be switched off.

    `gmail_dots`: drop dots in Gmail local parts, because Gmail ignores them.
    `googlemail_as_gmail`: rewrite googlemail.com to gmail.com, one mailbox under two names.
    `plus_tags`: drop `+tag` for the domains in `plus_tag_domains`.
    """

    gmail_dots: bool = True
    googlemail_as_gmail: bool = True
    plus_tags: bool = True
    plus_tag_domains: frozenset[str] = PLUS_TAG_DOMAINS


def normalize_email(raw: str | None, rules: EmailRules = EmailRules()) -> str | None:
    """Return the normalised address in `raw`, or None when it contains no valid address.

    Accepts a display name ("Pat Lee <pat@x.com>"), a `mailto:` prefix and several
    addresses separated by commas, semicolons or spaces; the first valid one wins. The
    result is Unicode NFKC, lowercase, with the provider rules of `rules` applied.
    Quoted local parts (`"pat lee"@x.com`) are treated as invalid.
    """
    if not raw:
        return None

    text = unicodedata.normalize("NFKC", raw)
    for token in _ADDRESS_TOKEN.findall(text):
        address = _clean_address(token)
        if address is not None:
            return _apply_provider_rules(address, rules)
    return None


def split_email(address: str) -> tuple[str, str]:
    """Split a normalised address into its local part and domain."""
    local, _, domain = address.rpartition("@")
    return local, domain


def is_valid_domain(domain: str) -> bool:
    """Tell whether `domain` is a lowercase host name with at least two labels."""
    labels = domain.split(".")
    if len(labels) < 2 or len(labels[-1]) < 2:
        return False
    return all(len(label) <= 63 and _DOMAIN_LABEL.fullmatch(label) for label in labels)


def _clean_address(token: str) -> str | None:
    """Lowercase one address token and validate it, or return None."""
    # A trailing dot is the end of a sentence ("write to pat@x.com."), not of the address.
    address = token.rstrip(".").lower()
    if address.startswith("mailto:"):
        address = address[len("mailto:") :]
    if address.count("@") != 1 or len(address) > _MAX_ADDRESS_LENGTH:
        return None

    local, domain = split_email(address)
    if len(local) > _MAX_LOCAL_LENGTH or not _LOCAL_PART.fullmatch(local):
        return None
    if not is_valid_domain(domain):
        return None
    return address


def _apply_provider_rules(address: str, rules: EmailRules) -> str:
    local, domain = split_email(address)

    if rules.plus_tags and domain in rules.plus_tag_domains:
        local = local.split("+", 1)[0] or local
    if domain in GMAIL_DOMAINS:
        if rules.gmail_dots:
            local = local.replace(".", "") or local
        if rules.googlemail_as_gmail:
            domain = "gmail.com"
    return f"{local}@{domain}"
