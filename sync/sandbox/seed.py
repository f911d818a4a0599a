"""Seed the sandbox CRMs for the demo: bundled data, or real CSV exports from a folder.

Bundled data is licence-clean: accounts, users and deals come from a seeded generator in
this module, and people from `splink_fake_1000.csv` (MIT licence, notice beside it).

From a folder (`crmsync demo --data DIR`), Dynamics gets the Maven CRM accounts, sales
agents (as system users) and opportunities, and HubSpot gets the contacts of
`datablist_customers-10000.csv`. Dynamics also gets a deterministic share of the same
people as contacts, some with a changed email case, a typo or another phone, so that
matching has real work.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from importlib import resources
from pathlib import Path
from typing import Any

from sync.errors import ConfigError, Problem
from sync.sandbox.dataverse import DataverseSandbox
from sync.sandbox.hubspot import HubSpotSandbox

PIPELINE_FILE = "maven_crm_sales_pipeline.csv"
ACCOUNTS_FILE = "maven_crm_accounts.csv"
TEAMS_FILE = "maven_crm_sales_teams.csv"
CUSTOMERS_FILE = "datablist_customers-10000.csv"
PEOPLE_RESOURCE = "splink_fake_1000.csv"

# Every SHARE-th HubSpot person is also a Dynamics contact.
DYNAMICS_CONTACT_SHARE = 5
# Opportunity state per Maven deal stage: (statecode, statuscode, salesstage).
MAVEN_STAGES: dict[str, tuple[int, int, int | None]] = {
    "Won": (1, 3, 3),
    "Lost": (2, 4, 3),
    "Engaging": (0, 1, 1),
    "Prospecting": (0, 1, 0),
}
USER_DOMAIN = "sandbox-sales.example"


@dataclass
class SeedReport:
    """Rows read, loaded and rejected per file; nothing is dropped silently."""

    read: dict[str, int] = field(default_factory=dict)
    loaded: dict[str, int] = field(default_factory=dict)
    rejected: list[tuple[str, int, str]] = field(default_factory=list)

    def count(self, name: str, loaded: bool = True) -> None:
        self.read[name] = self.read.get(name, 0) + 1
        if loaded:
            self.loaded[name] = self.loaded.get(name, 0) + 1

    def reject(self, name: str, row: int, reason: str) -> None:
        self.count(name, loaded=False)
        self.rejected.append((name, row, reason))

    def lines(self) -> list[str]:
        lines = []
        for name, read in self.read.items():
            rejected = read - self.loaded.get(name, 0)
            lines.append(f"{name}: {read} rows read, {self.loaded.get(name, 0)} loaded, {rejected} rejected")
        lines += [f"  {name} row {row}: {reason}" for name, row, reason in self.rejected[:20]]
        if len(self.rejected) > 20:
            lines.append(f"  … and {len(self.rejected) - 20} more rejected rows")
        return lines


def read_csv(path: Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) pairs; raise ConfigError if a required column is missing."""
    if not path.is_file():
        raise ConfigError(Problem("CSV file not found", file=path, fix="check the --data folder"))
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = [name.strip() for name in reader.fieldnames or []]
        missing = [name for name in required if name not in columns]
        if missing:
            raise ConfigError(Problem(
                f"missing column(s) {', '.join(missing)}; found {', '.join(columns) or 'no header'}",
                file=path, line=1, fix="export the file with these columns",
            ))
        for number, row in enumerate(reader, start=2):
            yield number, {key.strip(): (value or "").strip() for key, value in row.items() if key}


# -- from a folder of CSV exports -------------------------------------------------------------


def seed_from_directory(hubspot: HubSpotSandbox, dataverse: DataverseSandbox, folder: Path) -> SeedReport:
    """Seed both sandboxes from the CSV files in `folder`; see the module docstring."""
    report = SeedReport()
    users = _seed_users(dataverse, hubspot, folder / TEAMS_FILE, report)
    accounts = _seed_accounts(dataverse, folder / ACCOUNTS_FILE, report)
    _seed_opportunities(dataverse, folder / PIPELINE_FILE, accounts, users, report)
    _seed_customers(hubspot, dataverse, folder / CUSTOMERS_FILE, report)
    return report


def _seed_users(dataverse: DataverseSandbox, hubspot: HubSpotSandbox, path: Path, report: SeedReport) -> dict[str, str]:
    users: dict[str, str] = {}
    for _, row in read_csv(path, ["sales_agent", "manager", "regional_office"]):
        name = row["sales_agent"]
        first, _, last = name.partition(" ")
        email = f"{first}.{last}".lower().replace(" ", "") + "@" + USER_DOMAIN
        users[name] = dataverse.add_row("systemusers", {
            "fullname": name, "firstname": first, "lastname": last,
            "internalemailaddress": email, "isdisabled": False,
        })
        hubspot.add_owner(email, first, last)
        report.count(path.name)
    return users


def _seed_accounts(dataverse: DataverseSandbox, path: Path, report: SeedReport) -> dict[str, str]:
    accounts: dict[str, str] = {}
    required = ["account", "sector", "year_established", "revenue", "employees", "office_location"]
    for number, row in read_csv(path, required):
        if not row["account"]:
            report.reject(path.name, number, "empty account name")
            continue
        values: dict[str, Any] = {"name": row["account"], "address1_country": row["office_location"] or None}
        values["numberofemployees"] = _int_or_none(row["employees"])
        revenue = _float_or_none(row["revenue"])
        values["revenue"] = revenue * 1_000_000 if revenue is not None else None
        accounts[row["account"]] = dataverse.add_row("accounts", values)
        report.count(path.name)
    return accounts


def _seed_opportunities(dataverse: DataverseSandbox, path: Path, accounts: dict[str, str],
                        users: dict[str, str], report: SeedReport) -> None:
    required = ["opportunity_id", "sales_agent", "product", "account", "deal_stage", "engage_date", "close_date", "close_value"]
    for number, row in read_csv(path, required):
        stage = MAVEN_STAGES.get(row["deal_stage"])
        if stage is None:
            report.reject(path.name, number, f"unknown deal_stage {row['deal_stage']!r}")
            continue
        values = _opportunity_values(row, stage)
        if row["account"] in accounts:
            values["customerid_account@odata.bind"] = f"/accounts({accounts[row['account']]})"
        if row["sales_agent"] in users:
            values["ownerid@odata.bind"] = f"/systemusers({users[row['sales_agent']]})"
        dataverse.add_row("opportunities", values)
        report.count(path.name)


def _opportunity_values(row: dict[str, str], stage: tuple[int, int, int | None]) -> dict[str, Any]:
    statecode, statuscode, salesstage = stage
    amount = _float_or_none(row["close_value"])
    close_date = row["close_date"] or None
    values: dict[str, Any] = {
        "name": f"{row['opportunity_id']} {row['product']}",
        "estimatedvalue": amount,
        "estimatedclosedate": close_date,
        "statecode": statecode,
        "statuscode": statuscode,
        "salesstage": salesstage,
    }
    if statecode != 0:
        values["actualclosedate"] = close_date
        values["actualvalue"] = amount if statecode == 1 else None
    if row["engage_date"]:
        values["overriddencreatedon"] = _midnight(row["engage_date"])
    return values


def _seed_customers(hubspot: HubSpotSandbox, dataverse: DataverseSandbox, path: Path, report: SeedReport) -> None:
    required = ["Customer Id", "First Name", "Last Name", "Company", "City", "Country", "Phone 1", "Phone 2", "Email"]
    emails: set[str] = set()
    for number, row in read_csv(path, required):
        email = row["Email"]
        if email and email.lower() in emails:
            report.reject(path.name, number, f"email {email} already loaded: HubSpot contact emails are unique")
            continue
        emails.add(email.lower())
        hubspot.add_record("contacts", {
            "email": email or None, "firstname": row["First Name"], "lastname": row["Last Name"],
            "phone": row["Phone 1"] or None, "company": row["Company"] or None,
            "city": row["City"] or None, "country": row["Country"] or None,
        })
        report.count(path.name)
        if number % DYNAMICS_CONTACT_SHARE == 0:
            dataverse.add_row("contacts", _dynamics_variant(row, number))


def _dynamics_variant(row: dict[str, str], number: int) -> dict[str, Any]:
    """The same person as Dynamics has them, with a deterministic variation."""
    email, phone = row["Email"], row["Phone 1"]
    variation = (number // DYNAMICS_CONTACT_SHARE) % 4
    if variation == 0:
        email = email.upper()
    elif variation == 1:
        phone = row["Phone 2"] or phone
    elif variation == 2:
        email = _transpose(email)
    return {
        "firstname": row["First Name"], "lastname": row["Last Name"],
        "emailaddress1": email or None, "telephone1": phone or None,
        "address1_city": row["City"] or None, "address1_country": row["Country"] or None,
    }


def _transpose(email: str) -> str:
    """Swap two adjacent letters in the middle of the local part: a typical typing slip."""
    local, at, domain = email.partition("@")
    if len(local) < 4 or not at:
        return email
    middle = len(local) // 2
    local = local[: middle - 1] + local[middle] + local[middle - 1] + local[middle + 1:]
    return f"{local}@{domain}"


# -- bundled, licence-clean demo data ---------------------------------------------------------

BUNDLED_ACCOUNTS = [
    ("Harbor Lane Foods", "harborlanefoods.example"), ("Quarry Peak Software", "quarrypeak.example"),
    ("Tidewater Clinics", "tidewaterclinics.example"), ("Copperfield Freight", "copperfield.example"),
    ("Saltmarsh Energy", "saltmarsh.example"), ("Northgate Learning", "northgate.example"),
    ("Bramble & Oak Retail", "brambleoak.example"), ("Kestrel Aerospace", "kestrel.example"),
]
BUNDLED_USERS = [("Ada", "Moreno"), ("Ravi", "Khanna"), ("Lena", "Fischer"), ("Tom", "Okafor"), ("Mia", "Sato")]
BUNDLED_PRODUCTS = ["Starter plan", "Team plan", "Enterprise plan", "Onboarding package", "Support add-on"]


def seed_bundled(hubspot: HubSpotSandbox, dataverse: DataverseSandbox, seed: int = 7) -> SeedReport:
    """Seed a small, varied data set: deals on both sides and people with near-duplicates."""
    report = SeedReport()
    rng = random.Random(seed)
    users = []
    for first, last in BUNDLED_USERS:
        email = f"{first}.{last}@{USER_DOMAIN}".lower()
        users.append(dataverse.add_row("systemusers", {
            "fullname": f"{first} {last}", "firstname": first, "lastname": last,
            "internalemailaddress": email, "isdisabled": False,
        }))
        hubspot.add_owner(email, first, last)
        report.count("users")
    accounts = [dataverse.add_row("accounts", {"name": name, "websiteurl": f"https://www.{domain}"})
                for name, domain in BUNDLED_ACCOUNTS]
    report.loaded["accounts"] = report.read["accounts"] = len(accounts)
    _bundled_opportunities(dataverse, rng, accounts, users, report)
    _bundled_deals(hubspot, rng, report)
    _bundled_people(hubspot, dataverse, report)
    return report


def _bundled_opportunities(dataverse: DataverseSandbox, rng: random.Random, accounts: list[str],
                           users: list[str], report: SeedReport) -> None:
    stages = ["Won"] * 5 + ["Lost"] * 3 + ["Engaging"] * 3 + ["Prospecting"] * 1
    for number in range(1, 121):
        stage_name = rng.choice(stages)
        closed = stage_name in ("Won", "Lost")
        close = date(2025, 1, 1).toordinal() + rng.randrange(0, 365)
        row = {
            "opportunity_id": f"OPP-{number:04d}",
            "product": rng.choice(BUNDLED_PRODUCTS),
            "close_value": str(rng.randrange(5, 120) * 250) if stage_name != "Lost" else "0",
            "close_date": date.fromordinal(close).isoformat(),
            "engage_date": date.fromordinal(close - rng.randrange(20, 150)).isoformat(),
        }
        values = _opportunity_values(row, MAVEN_STAGES[stage_name])
        if not closed:
            values["estimatedclosedate"] = date.fromordinal(close + 200).isoformat()
        values["customerid_account@odata.bind"] = f"/accounts({rng.choice(accounts)})"
        values["ownerid@odata.bind"] = f"/systemusers({rng.choice(users)})"
        dataverse.add_row("opportunities", values)
        report.count("opportunities")


def _bundled_deals(hubspot: HubSpotSandbox, rng: random.Random, report: SeedReport) -> None:
    stages = ["appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "closedwon", "closedwon", "closedlost"]
    for number in range(1, 31):
        close = date(2025, 1, 1).toordinal() + rng.randrange(0, 365)
        hubspot.add_record("deals", {
            "dealname": f"HS-{number:03d} {rng.choice(BUNDLED_PRODUCTS)}",
            "amount": str(rng.randrange(4, 80) * 500),
            "dealstage": rng.choice(stages),
            "pipeline": "default",
            "closedate": _midnight(date.fromordinal(close).isoformat()),
        })
        report.count("deals")


def _bundled_people(hubspot: HubSpotSandbox, dataverse: DataverseSandbox, report: SeedReport) -> None:
    text = resources.files("sync.data").joinpath(PEOPLE_RESOURCE).read_text(encoding="utf-8")
    emails: set[str] = set()
    for number, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        email = (row["email"] or "").strip()
        if not email:
            report.reject(PEOPLE_RESOURCE, number, "no email: HubSpot contacts of the demo are loaded by email")
            continue
        if email.lower() in emails:
            report.reject(PEOPLE_RESOURCE, number, "repeats an email loaded earlier (the file lists people "
                                                   "several times, with typos, on purpose)")
            continue
        emails.add(email.lower())
        hubspot.add_record("contacts", {
            "email": email, "firstname": row["first_name"].strip() or None,
            "lastname": row["surname"].strip() or None, "city": row["city"].strip() or None,
        })
        report.count(PEOPLE_RESOURCE)
        if number % DYNAMICS_CONTACT_SHARE == 0:
            dataverse.add_row("contacts", {
                "firstname": row["first_name"].strip() or None, "lastname": row["surname"].strip() or "(unknown)",
                "emailaddress1": email.upper() if number % 2 else email, "address1_city": row["city"].strip() or None,
            })


def _midnight(day: str) -> str:
    return datetime.combine(date.fromisoformat(day), time(), tzinfo=UTC).isoformat().replace("+00:00", "Z")


def _float_or_none(text: str) -> float | None:
    try:
        return float(text.replace(",", "")) if text else None
    except ValueError:
        return None


def _int_or_none(text: str) -> int | None:
    number = _float_or_none(text)
    return int(number) if number is not None else None
