"""Text transforms, one at a time and in sequence."""

import pytest

from sync.mapping.transforms import Transform, apply_transforms, to_domain


@pytest.mark.parametrize(
    ("transform", "text", "expected"),
    [
        (Transform.TRIM, "  Ada \n", "Ada"),
        (Transform.LOWERCASE, "Ada@Example.COM", "ada@example.com"),
        (Transform.UPPERCASE, "fr", "FR"),
        (Transform.COLLAPSE_WHITESPACE, "  Acme \t  Corp \n Ltd ", "Acme Corp Ltd"),
        (Transform.DOMAIN, "https://www.example.com/about", "example.com"),
    ],
    ids=lambda value: str(value)[:20],
)
def test_single_transform(transform, text, expected):
    assert apply_transforms(text, [transform]) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("example.com", "example.com"),
        ("www.example.com", "example.com"),
        ("http://example.com", "example.com"),
        ("HTTPS://WWW.Example.com:8443/path?q=1#top", "Example.com"),
        ("https://user:pw@shop.example.co.uk/", "shop.example.co.uk"),
        ("example.com.", "example.com"),
        ("wwwexample.com", "wwwexample.com"),
        ("", ""),
    ],
)
def test_domain_forms(url, expected):
    assert to_domain(url) == expected


def test_transforms_apply_in_order():
    text = " https://WWW.Example.com/x "

    assert apply_transforms(text, [Transform.TRIM, Transform.LOWERCASE, Transform.DOMAIN]) == "example.com"


def test_no_transforms_keeps_text():
    assert apply_transforms(" As Is ", []) == " As Is "
