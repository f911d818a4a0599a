"""Email normalisation: one test per rule, each with the input that motivates it."""

import pytest

from sync.identity import EmailRules, normalize_email


def test_case_is_lowered():
    assert normalize_email("Pat.Lee@Example.COM") == "pat.lee@example.com"


def test_surrounding_whitespace_is_stripped():
    assert normalize_email("  pat@example.com\t\n") == "pat@example.com"


def test_fullwidth_characters_become_ascii():
    """NFKC folds the fullwidth forms that some CJK keyboards type."""
    assert normalize_email("ｐａｔ＠example.com") == "pat@example.com"


def test_display_name_is_dropped():
    assert normalize_email("Pat Lee <pat@example.com>") == "pat@example.com"


def test_quoted_display_name_with_comma():
    assert normalize_email('"Lee, Pat" <pat@example.com>') == "pat@example.com"


def test_first_valid_address_wins():
    assert normalize_email("not-an-address; pat@example.com, sam@example.com") == "pat@example.com"


def test_invalid_first_address_is_skipped():
    assert normalize_email("pat@@example, sam@example.com") == "sam@example.com"


def test_mailto_prefix_is_dropped():
    assert normalize_email("mailto:pat@example.com") == "pat@example.com"


@pytest.mark.parametrize(
    "raw",
    [None, "", "   ", "pat", "pat@", "@example.com", "pat@localhost", "pat@example.c",
     "pat..lee@example.com", ".pat@example.com", "pat@-example.com", "pat@exa_mple.com",
     "hannah88opowersc@m"],
)
def test_invalid_input_is_none(raw):
    assert normalize_email(raw) is None


def test_gmail_dots_are_ignored():
    assert normalize_email("pat.lee@gmail.com") == "patlee@gmail.com"


def test_gmail_plus_tag_is_dropped():
    assert normalize_email("patlee+newsletter@gmail.com") == "patlee@gmail.com"


def test_googlemail_is_gmail():
    assert normalize_email("pat.lee@googlemail.com") == "patlee@gmail.com"


@pytest.mark.parametrize("domain", ["outlook.com", "hotmail.com", "live.com", "icloud.com", "fastmail.com", "protonmail.com"])
def test_plus_tag_dropped_for_subaddressing_providers(domain):
    assert normalize_email(f"pat.lee+crm@{domain}") == f"pat.lee@{domain}"


def test_dots_kept_outside_gmail():
    assert normalize_email("pat.lee@outlook.com") == "pat.lee@outlook.com"


def test_yahoo_plus_is_kept():
    """Yahoo uses "-" for disposable addresses; a "+" there is part of the mailbox."""
    assert normalize_email("pat+lee@yahoo.com") == "pat+lee@yahoo.com"


def test_corporate_domain_keeps_dots_and_plus():
    assert normalize_email("pat.lee+sales@acme.com") == "pat.lee+sales@acme.com"


def test_rules_switch_off_gmail_dots():
    rules = EmailRules(gmail_dots=False)
    assert normalize_email("pat.lee@gmail.com", rules) == "pat.lee@gmail.com"


def test_rules_switch_off_googlemail():
    rules = EmailRules(googlemail_as_gmail=False)
    assert normalize_email("patlee@googlemail.com", rules) == "patlee@googlemail.com"


def test_rules_switch_off_plus_tags():
    rules = EmailRules(plus_tags=False)
    assert normalize_email("pat+crm@outlook.com", rules) == "pat+crm@outlook.com"


def test_rules_custom_plus_domains():
    rules = EmailRules(plus_tag_domains=frozenset({"acme.com"}))
    assert normalize_email("pat+crm@acme.com", rules) == "pat@acme.com"


def test_unicode_domain_is_kept():
    assert normalize_email("Jürgen@Müller.de") == "jürgen@müller.de"
