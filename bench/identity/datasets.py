"""Benchmark data sets for identity matching: two sides and the true pairs between them.

Every set is built deterministically from a seed. Sides are lists of plain dicts with
the keys id, email, first_name, last_name, phone and company (None when absent).
"""

from __future__ import annotations

import csv
import random
import string
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
SPLINK_FAKE = DATA / "splink_fake_1000.csv"
CUSTOMERS = DATA / "datablist_customers-10000.csv"
CONSUMER_DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com")
DOMAIN_TYPOS = {
    "gmail.com": ("gmial.com", "gmail.con", "gnail.com"),
    "yahoo.com": ("yaho.com", "yahooo.com", "yahoo.cmo"),
    "hotmail.com": ("hotmial.com", "hotmail.co", "hotmal.com"),
    "outlook.com": ("outlok.com", "outlook.cmo"),
}


@dataclass
class Dataset:
    """Two sides to link and the (left id, right id) pairs that are one person."""

    name: str
    left: list[dict]
    right: list[dict]
    truth: set[tuple[str, str]]


def splink_fake() -> Dataset:
    """Split splink's fake_1000 by its `cluster` truth into two sides.

    Of each cluster the record with the lowest unique_id goes left and the next one
    right; the rest of a cluster is left out, so the truth is one-to-one. Clusters of one
    record put it on the left, where it has no partner.
    """
    rows = sorted(_read(SPLINK_FAKE), key=lambda row: int(row["unique_id"]))
    by_cluster: dict[str, list[dict]] = {}
    for row in rows:
        by_cluster.setdefault(row["cluster"], []).append(row)

    left, right, truth = [], [], set()
    for members in by_cluster.values():
        left.append(_fake_record("l", members[0]))
        if len(members) > 1:
            right.append(_fake_record("r", members[1]))
            truth.add((f"l{members[0]['unique_id']}", f"r{members[1]['unique_id']}"))
    return Dataset("splink fake_1000 (first two records of each cluster)", left, right, truth)


def _fake_record(prefix: str, row: dict) -> dict:
    return {
        "id": f"{prefix}{row['unique_id']}",
        "email": row["email"] or None,
        "first_name": row["first_name"].strip() or None,
        "last_name": row["surname"].strip() or None,
        "phone": None,
        "company": None,
        "city": row["city"] or None,
        "dob": row["dob"] or None,
    }


def corruption_set(seed: int = 7) -> Dataset:
    """Originals from datablist customers on the left, corrupted copies on the right.

    A third of the originals get a consumer address (first.last@gmail.com and similar)
    so that provider rules and domain typos can occur. 90% of the originals get a copy
    with one corruption each (see CORRUPTIONS); 10% have no copy. 1,000 decoys are
    added on the right: other people with a near-identical email, the same surname and
    domain but another first name, who must not be matched.
    """
    rng = random.Random(seed)
    left = [_customer(row, rng) for row in _read(CUSTOMERS)]
    right, truth = [], set()
    for original in left:
        if rng.random() < 0.1:
            continue
        copy = CORRUPTIONS[rng.randrange(len(CORRUPTIONS))](dict(original), rng)
        copy["id"] = "r" + original["id"][1:]
        right.append(copy)
        truth.add((original["id"], copy["id"]))
    for number, original in enumerate(rng.sample(left, 1000)):
        right.append(_decoy(original, number, rng))
    rng.shuffle(right)
    return Dataset("datablist customers, corrupted copies and decoys", left, right, truth)


def _customer(row: dict, rng: random.Random) -> dict:
    email = row["Email"]
    if rng.random() < 1 / 3:
        domain = rng.choice(CONSUMER_DOMAINS)
        email = f"{row['First Name']}.{row['Last Name']}{rng.randrange(100)}@{domain}".lower()
    return {
        "id": "l" + row["Index"],
        "email": email,
        "first_name": row["First Name"],
        "last_name": row["Last Name"],
        "phone": row["Phone 1"],
        "company": row["Company"],
    }


def _decoy(original: dict, number: int, rng: random.Random) -> dict:
    """Another person: same surname and domain, another first name, a one-edit local part."""
    local, domain = original["email"].split("@")
    first = original["first_name"]
    other_first = first[:-1] + rng.choice([c for c in "aeiouy" if c != first[-1]])
    return {
        "id": f"x{number}",
        "email": f"{_edit(local, rng)}@{domain}",
        "first_name": other_first,
        "last_name": original["last_name"],
        "phone": f"555-{rng.randrange(1000):03d}-{rng.randrange(10000):04d}",
        "company": original["company"],
    }


def _edit(text: str, rng: random.Random) -> str:
    """Apply one substitution, transposition or deletion to `text` (length >= 3)."""
    position = rng.randrange(1, len(text) - 1)
    choice = rng.randrange(3)
    if choice == 0:
        letter = rng.choice([c for c in string.ascii_lowercase if c != text[position]])
        return text[:position] + letter + text[position + 1 :]
    if choice == 1:
        return text[: position - 1] + text[position] + text[position - 1] + text[position + 1 :]
    return text[:position] + text[position + 1 :]


def _case(record: dict, rng: random.Random) -> dict:
    record["email"] = record["email"].upper() if rng.random() < 0.5 else record["email"].title()
    record["first_name"] = record["first_name"].upper()
    return record


def _local_edit(record: dict, rng: random.Random) -> dict:
    local, domain = record["email"].split("@")
    record["email"] = f"{_edit(local, rng)}@{domain}"
    return record


def _plus_tag(record: dict, rng: random.Random) -> dict:
    local, domain = record["email"].split("@")
    if domain in ("gmail.com", "outlook.com", "hotmail.com"):
        record["email"] = f"{local}+crm{rng.randrange(10)}@{domain}"
    return record


def _gmail_dots(record: dict, rng: random.Random) -> dict:
    local, domain = record["email"].split("@")
    if domain == "gmail.com":
        record["email"] = local.replace(".", "") + "@" + domain
    return record


def _domain_typo(record: dict, rng: random.Random) -> dict:
    local, domain = record["email"].split("@")
    if domain in DOMAIN_TYPOS:
        record["email"] = f"{local}@{rng.choice(DOMAIN_TYPOS[domain])}"
    return record


def _no_email(record: dict, rng: random.Random) -> dict:
    """The email is missing; the name and a reformatted phone remain."""
    record["email"] = None
    record["phone"] = "".join(c for c in record["phone"] if c.isdigit() or c == "x")
    return record


def _display_name(record: dict, rng: random.Random) -> dict:
    record["email"] = f'"{record["last_name"]}, {record["first_name"]}" <{record["email"]}>'
    return record


CORRUPTIONS = (_case, _local_edit, _local_edit, _plus_tag, _gmail_dots, _domain_typo, _no_email, _display_name)


def synthetic(size: int, seed: int = 11) -> Dataset:
    """`size` people on each side: 90% with an exact or lightly edited copy, 10% new.

    Local parts are made of random letters, domains come from a pool of size // 20
    company domains plus the consumer domains. 5% of the copies get a one-edit local part.
    """
    rng = random.Random(seed)
    domains = [f"{_word(rng, 8)}.com" for _ in range(max(size // 20, 10))] + list(CONSUMER_DOMAINS)
    left, right, truth = [], [], set()
    for number in range(size):
        first, last = _word(rng, 6).title(), _word(rng, 7).title()
        email = f"{first}.{last}@{rng.choice(domains)}".lower()
        left.append({"id": f"l{number}", "email": email, "first_name": first, "last_name": last, "phone": None, "company": None})
        if rng.random() < 0.1:
            email, first, last = f"{_word(rng, 12)}@{rng.choice(domains)}", _word(rng, 6), _word(rng, 7)
        else:
            truth.add((f"l{number}", f"r{number}"))
            if rng.random() < 0.05:
                email = _edit(email.split("@")[0], rng) + "@" + email.split("@")[1]
        right.append({"id": f"r{number}", "email": email, "first_name": first, "last_name": last, "phone": None, "company": None})
    return Dataset(f"synthetic {size:,} x {size:,}", left, right, truth)


def _word(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(length))


def _read(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
