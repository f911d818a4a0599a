"""`crmsync sandbox seed SPEC.yaml`: spec checks, value conversion, repeated keys and the command."""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from sync.cli import main
from sync.errors import ConfigError
from sync.sandbox.seed_spec import DuplicateKeys, NumberFormat, load_seed_spec
from sync.sandbox.seed_spec_load import seed_from_spec
from sync.sandbox.seed_spec_rows import read_sources
from sync.sandbox.seed_spec_run import SERVE_PID_FILE, seed_sandbox_file, serving
from sync.sandbox.seed_spec_values import parse_moment, parse_number
from sync.sandbox.server import Sandbox

DATA = Path(__file__).resolve().parent / "data"
SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
FROZEN = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

CONTACTS_SOURCE = f"""\
  - file: {DATA / 'seed_contacts.csv'}
    system: hubspot
    kind: contact
    key: Email
    columns:
      Email: email
      First Name: firstname
      Last Name: lastname
      Status: lifecyclestage
      Signed Up: signup_date
      Score: lead_score
    values:
      lifecyclestage:
        Lead: lead
        Customer: customer
        Prospect: salesqualifiedlead
    types:
      signup_date: date
      lead_score: number
    formats:
      date: "%m/%d/%Y"
"""
ACCOUNTS_SOURCE = f"""\
  - file: {DATA / 'seed_accounts_bom.csv'}
    system: dynamics
    kind: company
    key: Account
    columns:
      Account: name
"""
OPPORTUNITIES_SOURCE = f"""\
  - file: {DATA / 'seed_opportunities.csv'}
    system: dynamics
    kind: deal
    key: Deal
    columns:
      Deal: name
      Stage: [statecode, salesstage]
      Close Date: estimatedclosedate
      Value: estimatedvalue
    values:
      statecode: {{Won: 1, Lost: 2, Open: 0}}
      salesstage: {{Won: Close, Lost: Close, Open: Qualify}}
    references:
      Account: {{kind: company, field: name}}
    formats:
      date: "%m/%d/%Y"
      number: {{thousands: ",", decimal: ".", currency: ["$"]}}
"""


def _spec(tmp_path: Path, *sources: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text("sources:\n" + "".join(sources), encoding="utf-8")
    return path


def _csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _seed(spec: Path):
    sandbox = Sandbox(spec.parent / "sandbox", clock=lambda: FROZEN)
    report = seed_from_spec(sandbox.hubspot, sandbox.dataverse, read_sources(load_seed_spec(spec)))
    return sandbox, report


def _problems(spec: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        read_sources(load_seed_spec(spec))
    return [str(problem) for problem in caught.value.problems]


# -- spec checks --------------------------------------------------------------------------


def test_spec_lists_every_problem_with_lines(tmp_path):
    """Each mistake of the spec is one problem, located at its line."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "sources:\n"
        "  - file: missing.csv\n"          # 2
        "    system: salesforce\n"         # 3
        "    kind: contact\n"              # 4
        "    on_duplicate_key: maybe\n"    # 5
        "    columns:\n"                   # 6
        "      Email: email\n"             # 7
        "    colums: {}\n",                # 8
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_seed_spec(spec)
    located = {(problem.field, problem.line) for problem in caught.value.problems}
    assert ("sources[0].file", 2) in located
    assert ("sources[0].system", 3) in located
    assert ("sources[0].on_duplicate_key", 5) in located
    assert ("sources[0].colums", 8) in located


def test_spec_problem_names_file_and_fix(tmp_path):
    spec = _spec(tmp_path, f"  - file: {DATA / 'seed_contacts.csv'}\n    system: hubspot\n    kind: lead\n"
                 "    columns: {Email: email}\n")
    message = str(_problems(spec)[0])
    assert message.startswith(f"{spec}:4: sources[0].kind: invalid value 'lead'")
    assert "Fix: use one of user, company, contact, deal, owner" in message


def test_spec_rejects_unknown_dataverse_column(tmp_path):
    spec = _spec(tmp_path, ACCOUNTS_SOURCE.replace("Account: name", "Account: region"))
    problems = _problems(spec)
    assert "Dynamics company has no field 'region'" in problems[0]
    assert "publisher prefix" in problems[0]
    assert ":7: sources[0].columns.Account" in problems[0]


def test_custom_dataverse_column_is_created(tmp_path):
    source = ACCOUNTS_SOURCE.replace("Account: name", "Account: name\n      Sector: new_sector") \
        + "    types:\n      new_sector: string\n"
    sandbox, report = _seed(_spec(tmp_path, source))
    rows = [row for row in sandbox.dataverse.rows("accounts") if row.get("name") == "Harbor Lane Foods"]
    assert rows[0]["new_sector"] == "retail"
    assert ["accounts", "new_sector", "string"] in sandbox.dataverse.dump()["custom_columns"]


def test_custom_column_needs_known_type(tmp_path):
    source = ACCOUNTS_SOURCE.replace("Account: name", "Account: new_label") + "    types:\n      new_label: colour\n"
    assert "invalid type 'colour'" in "\n".join(_problems(_spec(tmp_path, source)))


def test_spec_rejects_lookup_column(tmp_path):
    spec = _spec(tmp_path, ACCOUNTS_SOURCE.replace("Account: name", "Account: ownerid"))
    assert "fill lookups through `references`" in _problems(spec)[0]


def test_spec_rejects_read_only_hubspot_property(tmp_path):
    spec = _spec(tmp_path, CONTACTS_SOURCE.replace("Score: lead_score", "Score: hs_object_id"))
    assert "HubSpot computes 'hs_object_id' itself" in "\n".join(_problems(spec))


def test_spec_rejects_values_for_unmapped_field(tmp_path):
    spec = _spec(tmp_path, ACCOUNTS_SOURCE + "    values:\n      industrycode: {Retail: 25}\n")
    assert "no column fills the field 'industrycode'" in _problems(spec)[0]


def test_spec_rejects_impossible_reference(tmp_path):
    spec = _spec(tmp_path, ACCOUNTS_SOURCE + "    references:\n      Sector: {kind: deal, field: name}\n")
    assert "a Dynamics company cannot refer to a deal" in _problems(spec)[0]


def test_spec_rejects_same_separators(tmp_path):
    spec = _spec(tmp_path, ACCOUNTS_SOURCE + '    formats:\n      number: {thousands: ".", decimal: "."}\n')
    assert "invalid separators" in _problems(spec)[0]


def test_spec_yaml_error_has_line(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("sources:\n  - file: [a\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_seed_spec(spec)
    assert caught.value.problems[0].line is not None


def test_missing_column_named(tmp_path):
    """A column the spec names but the CSV lacks stops before any write, naming both."""
    csv_file = _csv(tmp_path, "accounts.csv", "Company,Sector\nHarbor Lane Foods,retail\n")
    spec = _spec(tmp_path, ACCOUNTS_SOURCE.replace(str(DATA / "seed_accounts_bom.csv"), str(csv_file)))
    message = _problems(spec)[0]
    assert message.startswith(f"{csv_file}:1: missing column(s) 'Account'")
    assert "'Company', 'Sector'" in message


def test_missing_column_case_hint(tmp_path):
    csv_file = _csv(tmp_path, "accounts.csv", "account\nHarbor Lane Foods\n")
    spec = _spec(tmp_path, ACCOUNTS_SOURCE.replace(str(DATA / "seed_accounts_bom.csv"), str(csv_file)))
    assert "the file has 'account'" in _problems(spec)[0]


def test_undecodable_file_names_encoding(tmp_path):
    csv_file = tmp_path / "accounts.csv"
    csv_file.write_bytes("Account\nCaf\u00e9 M\u00fcller\n".encode("cp1252"))
    spec = _spec(tmp_path, ACCOUNTS_SOURCE.replace(str(DATA / "seed_accounts_bom.csv"), str(csv_file)))
    assert "set `encoding:`" in _problems(spec)[0]


def test_encoding_option_reads_file(tmp_path):
    csv_file = tmp_path / "accounts.csv"
    csv_file.write_bytes("Account\nCaf\u00e9 M\u00fcller\n".encode("cp1252"))
    source = ACCOUNTS_SOURCE.replace(str(DATA / "seed_accounts_bom.csv"), str(csv_file)) + "    encoding: cp1252\n"
    sandbox, _ = _seed(_spec(tmp_path, source))
    assert [row["name"] for row in sandbox.dataverse.rows("accounts")] == ["Caf\u00e9 M\u00fcller"]


# -- values -------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "number_format", "expected"), [
    ("$95,000.00", NumberFormat(), Decimal("95000.00")),
    ("1.234,50 €", NumberFormat(".", ","), Decimal("1234.50")),
    ("($12.50)", NumberFormat(), Decimal("-12.50")),
    ("USD 7", NumberFormat(currency=("USD",)), Decimal("7")),
], ids=["us-dollars", "european", "negative", "currency-code"])
def test_parse_number(text, number_format, expected):
    assert parse_number(text, number_format) == expected


@pytest.mark.parametrize("text", ["twelve", "NaN", "", "1.2.3"])
def test_parse_number_rejects(text):
    with pytest.raises(ValueError, match="not a number"):
        parse_number(text, NumberFormat())


def test_parse_moment_us_short_year():
    assert parse_moment("7/18/18", "%m/%d/%y") == datetime(2018, 7, 18, tzinfo=UTC)


def test_parse_moment_falls_back_to_iso():
    assert parse_moment("2024-02-29", "%m/%d/%Y") == datetime(2024, 2, 29, tzinfo=UTC)


# -- loading ------------------------------------------------------------------------------


def test_hubspot_contacts_loaded(tmp_path):
    """Mapped statuses, US dates and numbers of a custom property reach the HubSpot sandbox."""
    sandbox, report = _seed(_spec(tmp_path, CONTACTS_SOURCE))
    contacts = {record["properties"]["email"]: record["properties"] for record in sandbox.hubspot.records("contacts")}
    assert report.loaded == 3
    assert contacts["ada@harbor.example"]["lifecyclestage"] == "lead"
    assert contacts["lena@tide.example"]["lifecyclestage"] == "salesqualifiedlead"
    assert contacts["ada@harbor.example"]["signup_date"] == "2024-07-18"
    assert contacts["ada@harbor.example"]["lead_score"] == "1200"
    assert contacts["lena@tide.example"]["lead_score"] == "12.5"


def test_dynamics_deals_loaded(tmp_path):
    """Stages become state codes and sales stages, amounts and dates parse, accounts are linked."""
    sandbox, report = _seed(_spec(tmp_path, OPPORTUNITIES_SOURCE, ACCOUNTS_SOURCE))
    accounts = {row["accountid"]: row["name"] for row in sandbox.dataverse.rows("accounts")}
    deals = {row["name"]: row for row in sandbox.dataverse.rows("opportunities")}
    won = deals["OPP-1 Team plan"]
    assert report.files["seed_opportunities.csv (dynamics deal)"].loaded == 3
    assert (won["statecode"], won["statuscode"], won["salesstage"]) == (1, 3, 3)
    assert deals["OPP-2 Starter plan"]["statecode"] == 2
    assert deals["OPP-3 Enterprise plan"]["salesstage"] == 0
    assert won["estimatedvalue"] == 95000.0
    assert deals["OPP-3 Enterprise plan"]["estimatedvalue"] == 12500.5
    assert won["estimatedclosedate"] == "2024-07-18"
    assert accounts[won["_customerid_value"]] == "Harbor Lane Foods"


def test_bad_number_rejected_others_load(tmp_path):
    _, report = _seed(_spec(tmp_path, OPPORTUNITIES_SOURCE, ACCOUNTS_SOURCE))
    rejected = report.rejected[0]
    assert len(report.rejected) == 1
    assert (rejected.file, rejected.line, rejected.column, rejected.value) == ("seed_opportunities.csv", 5, "Value", "twelve")
    assert rejected.reason.startswith("estimatedvalue: not a number")


def test_bom_header_read(tmp_path):
    """A BOM before the first header does not hide the `Account` column."""
    sandbox, report = _seed(_spec(tmp_path, ACCOUNTS_SOURCE))
    assert report.loaded == 2
    assert sorted(row["name"] for row in sandbox.dataverse.rows("accounts")) == ["Harbor Lane Foods", "Quarry Peak Software"]


def test_value_not_in_map_rejected(tmp_path):
    csv_file = _csv(tmp_path, "contacts.csv", "Email,First Name,Last Name,Status,Signed Up,Score\n"
                    "x@y.example,X,Y,Churned,,\n")
    spec = _spec(tmp_path, CONTACTS_SOURCE.replace(str(DATA / "seed_contacts.csv"), str(csv_file)))
    _, report = _seed(spec)
    assert "not in values.lifecyclestage" in report.rejected[0].reason
    assert report.rejected[0].value == "Churned"


def test_unknown_reference_rejected(tmp_path):
    csv_file = _csv(tmp_path, "deals.csv", "Deal,Account,Stage,Close Date,Value\nD1,Nobody Inc,Open,01/02/2024,5\n")
    spec = _spec(tmp_path, OPPORTUNITIES_SOURCE.replace(str(DATA / "seed_opportunities.csv"), str(csv_file)))
    _, report = _seed(spec)
    assert report.rejected[0].reason == "no company with name 'Nobody Inc' in the sandbox"


def test_short_row_rejected(tmp_path):
    csv_file = _csv(tmp_path, "accounts.csv", "Account,Sector\nHarbor Lane Foods\nQuarry,software\n")
    spec = _spec(tmp_path, ACCOUNTS_SOURCE.replace(str(DATA / "seed_accounts_bom.csv"), str(csv_file)))
    _, report = _seed(spec)
    assert report.loaded == 1
    assert "1 fewer fields than the header" in report.rejected[0].reason


def test_hubspot_deal_associated_with_company(tmp_path):
    companies = _csv(tmp_path, "companies.csv", "Name\nKestrel Aerospace\n")
    deals = _csv(tmp_path, "deals.csv", "Deal,Company,Stage,Amount\nK-1,Kestrel Aerospace,Closed Won,\"1,000\"\n")
    spec = _spec(tmp_path, f"""\
  - file: {deals}
    system: hubspot
    kind: deal
    columns: {{Deal: dealname, Stage: dealstage, Amount: amount}}
    references: {{Company: {{kind: company, field: name}}}}
  - file: {companies}
    system: hubspot
    kind: company
    columns: {{Name: name}}
""")
    sandbox, _ = _seed(spec)
    deal = sandbox.hubspot.records("deals")[0]
    company = sandbox.hubspot.records("companies")[0]
    assert deal["properties"]["dealstage"] == "closedwon"
    assert deal["properties"]["amount"] == "1000"
    assert sandbox.hubspot.associations("deals", deal["id"], "companies") == [company["id"]]


# -- repeated keys ------------------------------------------------------------------------

REPEATS = "Account,Sector\nAlpha,one\nBeta,two\nAlpha,three\nAlpha,four\n"


def _repeat_spec(tmp_path: Path, option: DuplicateKeys) -> Path:
    csv_file = _csv(tmp_path, "accounts.csv", REPEATS)
    source = f"""\
  - file: {csv_file}
    system: dynamics
    kind: company
    key: Account
    on_duplicate_key: {option}
    columns: {{Account: name, Sector: description}}
"""
    return _spec(tmp_path, source)


def _descriptions(sandbox: Sandbox) -> list[str]:
    return sorted(row["description"] for row in sandbox.dataverse.rows("accounts"))


def test_repeats_keep_all(tmp_path):
    sandbox, report = _seed(_repeat_spec(tmp_path, DuplicateKeys.KEEP_ALL))
    assert _descriptions(sandbox) == ["four", "one", "three", "two"]
    assert report.files["accounts.csv (dynamics company)"].repeated.rows == 3


def test_repeats_keep_first(tmp_path):
    sandbox, report = _seed(_repeat_spec(tmp_path, DuplicateKeys.KEEP_FIRST))
    assert _descriptions(sandbox) == ["one", "two"]
    assert [row.line for row in report.rejected] == [4, 5]
    assert report.rejected[0].reason == "key 'Alpha' repeats; keep_first keeps line 2"


def test_repeats_keep_last(tmp_path):
    sandbox, _ = _seed(_repeat_spec(tmp_path, DuplicateKeys.KEEP_LAST))
    assert _descriptions(sandbox) == ["four", "two"]


def test_repeats_stop(tmp_path):
    message = _problems(_repeat_spec(tmp_path, DuplicateKeys.STOP))[0]
    assert "accounts.csv: key column 'Account' is not unique: 1 value(s) repeat across 3 rows" in message
    assert "e.g. 'Alpha' in 3 rows" in message


def test_repeats_summary_line(tmp_path):
    _, report = _seed(_repeat_spec(tmp_path, DuplicateKeys.KEEP_FIRST))
    assert "  key column 'Account' is not unique: 1 value(s) repeat across 3 rows, e.g. 'Alpha' in 3 rows; " \
           "on_duplicate_key: keep_first" in report.lines()


def test_empty_key_rejected(tmp_path):
    csv_file = _csv(tmp_path, "accounts.csv", "Account,Sector\n,one\nBeta,two\n")
    spec = _spec(tmp_path, ACCOUNTS_SOURCE.replace(str(DATA / "seed_accounts_bom.csv"), str(csv_file)))
    _, report = _seed(spec)
    assert report.rejected[0].reason == "the key column 'Account' is empty"


# -- the command --------------------------------------------------------------------------


def test_cli_seed_then_serve_loads(tmp_path, capsys):
    """The seeded data file is what the next `sandbox serve --dir` loads."""
    spec = _spec(tmp_path, CONTACTS_SOURCE, OPPORTUNITIES_SOURCE, ACCOUNTS_SOURCE)
    workdir = tmp_path / "served"
    assert main(["sandbox", "seed", str(spec), "--dir", str(workdir)]) == 0
    out = capsys.readouterr().out

    sandbox = Sandbox(workdir, credentials=Sandbox.saved_credentials(workdir / "sandbox.json"))
    sandbox.load(workdir / "sandbox.json")
    assert "seed_opportunities.csv (dynamics deal): 4 rows read, 3 loaded, 1 rejected" in out
    assert "  seed_opportunities.csv:5: column 'Value' value 'twelve': estimatedvalue: not a number" in out
    assert len(sandbox.hubspot.records("contacts")) == 3
    assert len(sandbox.dataverse.rows("opportunities")) == 3
    assert (workdir / "seed-rejected.csv").read_text(encoding="utf-8").count("\n") == 2


def test_cli_seed_adds_to_existing_data(tmp_path, capsys):
    workdir = tmp_path / "served"
    assert main(["sandbox", "seed", str(_spec(tmp_path, ACCOUNTS_SOURCE, name="a.yaml")), "--dir", str(workdir)]) == 0
    assert main(["sandbox", "seed", str(_spec(tmp_path, OPPORTUNITIES_SOURCE, name="b.yaml")), "--dir", str(workdir)]) == 0
    capsys.readouterr()
    sandbox = Sandbox(workdir)
    sandbox.load(workdir / "sandbox.json")
    assert len(sandbox.dataverse.rows("opportunities")) == 3


def test_cli_spec_error_exit_2(tmp_path, capsys):
    spec = _spec(tmp_path, ACCOUNTS_SOURCE.replace("system: dynamics", "system: sap"))
    assert main(["sandbox", "seed", str(spec), "--dir", str(tmp_path / "served")]) == 2
    assert "sources[0].system: invalid value 'sap'" in capsys.readouterr().err
    assert not (tmp_path / "served" / "sandbox.json").exists()


def test_cli_stop_on_repeats_exit_2(tmp_path, capsys):
    assert main(["sandbox", "seed", str(_repeat_spec(tmp_path, DuplicateKeys.STOP)), "--dir", str(tmp_path / "s")]) == 2
    assert "is not unique" in capsys.readouterr().err


def test_cli_refuses_while_serving(tmp_path, capsys):
    workdir = tmp_path / "served"
    workdir.mkdir()
    with serving(workdir):
        code = main(["sandbox", "seed", str(_spec(tmp_path, ACCOUNTS_SOURCE)), "--dir", str(workdir)])
    assert code == 2
    assert "a sandbox server (process" in capsys.readouterr().err
    assert not (workdir / SERVE_PID_FILE).exists()


def test_stale_pid_file_ignored(tmp_path):
    workdir = tmp_path / "served"
    workdir.mkdir()
    (workdir / SERVE_PID_FILE).write_text("999999999\n", encoding="utf-8")
    report = seed_sandbox_file(_spec(tmp_path, ACCOUNTS_SOURCE), workdir, clock=lambda: FROZEN)
    assert report.loaded == 2


def test_nothing_loaded_is_error(tmp_path):
    csv_file = _csv(tmp_path, "deals.csv", "Deal,Account,Stage,Close Date,Value\nD1,,Open,01/02/2024,lots\n")
    spec = _spec(tmp_path, OPPORTUNITIES_SOURCE.replace(str(DATA / "seed_opportunities.csv"), str(csv_file)))
    with pytest.raises(ConfigError, match="none of the 1 rows loaded"):
        seed_sandbox_file(spec, tmp_path / "served", clock=lambda: FROZEN)
    assert not (tmp_path / "served" / "sandbox.json").exists()


# -- real data ----------------------------------------------------------------------------


@pytest.mark.skipif(not (SHARED_DATA / "revops_challenge_deal_stage_history.csv").is_file(),
                    reason="the shared data folder with revops_challenge_deal_stage_history.csv is absent")
def test_revops_stage_history(tmp_path):
    """US short dates and `$95,000.00` amounts; the last stage row of each company wins."""
    history = (SHARED_DATA / "revops_challenge_deal_stage_history.csv").resolve()
    spec = _spec(tmp_path, f"""\
  - file: {history}
    system: dynamics
    kind: deal
    key: Company
    on_duplicate_key: keep_last
    columns:
      Company: name
      Stage: [statecode, stepname]
      Date: estimatedclosedate
      Amount: estimatedvalue
    values:
      statecode: {{S1: 0, S2: 0, S3: 0, S4: 0, S5: 0, WON: 1, LOST: 2}}
    formats:
      date: "%m/%d/%y"
""")
    sandbox, report = _seed(spec)
    deals = {row["name"]: row for row in sandbox.dataverse.rows("opportunities")}
    counts = report.files["revops_challenge_deal_stage_history.csv (dynamics deal)"]
    with history.open(encoding="utf-8-sig") as handle:
        data_rows = len(handle.read().strip().splitlines()) - 1
    assert counts.read == data_rows
    assert counts.loaded + counts.rejected == counts.read
    assert counts.loaded == len(deals)
    assert deals["Betatech"]["statecode"] == 2
    assert deals["Betatech"]["estimatedclosedate"] == "2018-08-10"
    assert deals["Zumgoity"]["estimatedvalue"] == 332500.0
    assert deals["Zumgoity"]["statecode"] == 1
    assert all(row.reason.startswith("key ") for row in report.rejected)


def test_running_serve_blocks_seed(tmp_path, capsys):
    """A live `sandbox serve` keeps a pid file, so the seed refuses; the file goes when it stops."""
    workdir = tmp_path / "served"
    command = [sys.executable, "-m", "sync.cli", "sandbox", "serve", "--dir", str(workdir), "--hubspot-port", "0",
               "--dataverse-port", "0", "--token-port", "0", "--settings-out", str(tmp_path / "crmsync.yaml")]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 60
        while not (workdir / SERVE_PID_FILE).exists() and time.monotonic() < deadline and server.poll() is None:
            time.sleep(0.1)
        code = main(["sandbox", "seed", str(_spec(tmp_path, ACCOUNTS_SOURCE)), "--dir", str(workdir)])
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
    assert code == 2
    assert f"a sandbox server (process {server.pid})" in capsys.readouterr().err
    assert not (workdir / SERVE_PID_FILE).exists()


def test_example_spec_loads(tmp_path):
    """The example in examples/seed loads every row and links each opportunity to its account."""
    example = Path(__file__).resolve().parents[2] / "examples" / "seed" / "spec.yaml"
    report = seed_sandbox_file(example, tmp_path / "served", clock=lambda: FROZEN)
    sandbox = Sandbox(tmp_path / "served")
    sandbox.load(tmp_path / "served" / "sandbox.json")
    assert report.rejected == []
    assert all(row["_customerid_value"] for row in sandbox.dataverse.rows("opportunities"))
    assert all(row["_ownerid_value"] for row in sandbox.dataverse.rows("accounts"))
