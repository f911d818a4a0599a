"""The command line as a user meets it: commands, reports, and clear errors for bad input."""

import socket
import textwrap

import pytest

from sync.cli import main
from tests.conftest import DEFAULT_MAPPING


def run(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_dry_run_writes_report_and_nothing_else(sandbox, settings_path, tmp_path, capsys):
    before = sandbox.snapshot()
    code, out, err = run(["--config", str(settings_path), "sync", "--dry-run"], capsys)
    assert code == 0, err
    assert "1 to create in Dynamics" in out
    assert sandbox.snapshot() == before
    assert (tmp_path / "reports" / "dry-run-report.md").exists()
    assert (tmp_path / "reports" / "dry-run-report.json").exists()


def test_sync_then_second_sync_writes_nothing(sandbox, settings_path, capsys):
    assert run(["--config", str(settings_path), "sync"], capsys)[0] == 0
    before = sandbox.snapshot()
    sandbox.reset_counts()

    code, out, _ = run(["--config", str(settings_path), "sync"], capsys)

    assert code == 0
    assert sandbox.write_requests() == 0
    assert sandbox.snapshot() == before


def test_status_lists_runs(sandbox, settings_path, capsys):
    run(["--config", str(settings_path), "sync"], capsys)
    code, out, _ = run(["--config", str(settings_path), "status"], capsys)
    assert code == 0
    assert "succeeded" in out


def test_daily_limit_stop_says_so(sandbox, settings_path, capsys):
    sandbox.hubspot.set_rate_limits("professional", daily_limit=8)

    code, _, err = run(["--config", str(settings_path), "sync"], capsys)

    assert code != 0
    assert "daily request limit" in err
    assert "did not answer" not in err
    assert "Traceback" not in err


def test_review_unknown_id_is_input_error(sandbox, settings_path, capsys):
    code, _, err = run(["--config", str(settings_path), "review", "accept", "999"], capsys)

    assert code == 2
    assert "review id 999" in err
    assert "Traceback" not in err


def test_missing_settings_file(tmp_path, capsys):
    missing = tmp_path / "nope.yaml"
    code, out, err = run(["--config", str(missing), "sync"], capsys)
    assert code == 2
    assert str(missing) in err
    assert "Traceback" not in err


def test_malformed_settings_names_line(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("hubspot:\n  host: [unclosed\n", encoding="utf-8")
    code, _, err = run(["--config", str(path), "sync"], capsys)
    assert code == 2
    assert f"{path}:" in err
    assert "Traceback" not in err


def test_missing_setting_names_env_variable(tmp_path, capsys):
    path = tmp_path / "partial.yaml"
    path.write_text("hubspot:\n  host: http://127.0.0.1:9\n", encoding="utf-8")
    code, _, err = run(["--config", str(path), "sync"], capsys)
    assert code == 2
    assert "CRMSYNC_HUBSPOT_ACCESS_TOKEN" in err


def test_unknown_mapped_field_stops_before_any_write(sandbox, settings_path, tmp_path, capsys):
    mapping = tmp_path / "typo.yaml"
    mapping.write_text(DEFAULT_MAPPING.read_text(encoding="utf-8").replace("{hubspot: firstname,", "{hubspot: frstname,"),
                       encoding="utf-8")
    settings_path.write_text(settings_path.read_text(encoding="utf-8").replace(str(DEFAULT_MAPPING), str(mapping)),
                             encoding="utf-8")
    before = sandbox.snapshot()

    code, _, err = run(["--config", str(settings_path), "sync"], capsys)

    assert code == 2
    assert "frstname" in err
    assert str(mapping) in err
    assert sandbox.snapshot() == before


def test_invalid_mapping_names_file_and_line(sandbox, settings_path, tmp_path, capsys):
    mapping = tmp_path / "broken.yaml"
    mapping.write_text(textwrap.dedent("""\
        version: 1
        objects:
          contact:
            fields:
              email: {hubspot: email, dynamics: emailaddress1, direction: sideways}
        """), encoding="utf-8")
    code, _, err = run(["mappings", "validate", str(mapping)], capsys)
    assert code == 2
    assert f"{mapping}:5" in err
    assert "Traceback" not in err


def test_demo_with_missing_csv_column(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "maven_crm_sales_teams.csv").write_text("sales_agent,manager\nAda Moreno,Tom Okafor\n", encoding="utf-8")
    code, _, err = run(["demo", "--data", str(data), "--output", str(tmp_path / "out")], capsys)
    assert code == 2
    assert "maven_crm_sales_teams.csv" in err
    assert "regional_office" in err
    assert "Traceback" not in err


def test_sandbox_port_in_use(tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = run(["sandbox", "serve", "--dir", str(tmp_path / "sb"), "--hubspot-port", str(port),
                            "--dataverse-port", "0", "--token-port", "0",
                            "--settings-out", str(tmp_path / "s.yaml")], capsys)
    assert code == 2
    assert f"port {port}" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("argv", [["--help"], ["sync", "--help"], ["demo", "--help"]])
def test_help_exits_cleanly(argv, capsys):
    assert run(argv, capsys)[0] == 0


def test_reconcile_full_fixes_drift_that_sync_misses(sandbox, settings_path, capsys, monkeypatch):
    import time
    from datetime import UTC, datetime

    monkeypatch.setenv("CRMSYNC_HUBSPOT_SEARCH_OVERLAP_SECONDS", "0")
    monkeypatch.setenv("CRMSYNC_DYNAMICS_MODIFIED_OVERLAP_SECONDS", "0")
    sync = ["--config", str(settings_path), "sync"]
    assert run(sync, capsys)[0] == 0
    # Newer records elsewhere, so that the cursors move past the pair that will drift
    # (Dataverse times have whole seconds).
    time.sleep(1.1)
    sandbox.hubspot.add_record("contacts", {"email": "zed@initech.example", "lastname": "Zed"})
    assert run(sync, capsys)[0] == 0
    assert run(sync, capsys)[0] == 0
    contact = next(r for r in sandbox.hubspot.records("contacts") if r["properties"]["email"] == "pat@acme.example")
    # An edit whose modification time lies before the cursor: incremental reads miss it.
    sandbox.hubspot.update_record("contacts", contact["id"], {"lastname": "Drifted"},
                                  modified_at=datetime(2020, 1, 1, tzinfo=UTC))
    run(sync, capsys)
    assert _dynamics_lastname(sandbox, "pat@acme.example") == "Lee"

    code, out, _ = run(["--config", str(settings_path), "reconcile", "--full"], capsys)

    assert code == 0
    assert "1 linked pair(s) disagreed" in out
    assert _dynamics_lastname(sandbox, "pat@acme.example") == "Drifted"


def _dynamics_lastname(sandbox, email):
    return next(row["lastname"] for row in sandbox.dataverse.rows("contacts") if row.get("emailaddress1") == email)


def test_retry_requeues_parked_records(sandbox, settings_path, capsys):
    from sync.model import Kind, System
    from sync.settings import load_settings
    from sync.state import StateStore

    store = StateStore(load_settings(settings_path).state.url)
    for _ in range(8):
        store.record_error(System.HUBSPOT, Kind.CONTACT, "999", "rejected: test")
    store.record_error(System.HUBSPOT, Kind.CONTACT, "998", "rejected once: test")
    store.close()
    assert "parked after 8 attempts: 1" in run(["--config", str(settings_path), "status"], capsys)[1]

    code, out, _ = run(["--config", str(settings_path), "retry"], capsys)

    assert code == 0
    assert "Re-queued 1 parked record(s)" in out
    assert "parked after 8 attempts: 0" in run(["--config", str(settings_path), "status"], capsys)[1]
    code, out, _ = run(["--config", str(settings_path), "retry"], capsys)
    assert "No record is parked; the 2 record(s) in the retry queue are retried on their own." in out


def test_validate_live_finds_unknown_property(sandbox, settings_path, tmp_path, capsys):
    mapping = tmp_path / "typo.yaml"
    mapping.write_text(DEFAULT_MAPPING.read_text(encoding="utf-8").replace("{hubspot: jobtitle,", "{hubspot: jobtitel,"),
                       encoding="utf-8")
    code, out, _ = run(["mappings", "validate", str(mapping)], capsys)
    assert code == 0
    assert "structure only" in out

    code, _, err = run(["--config", str(settings_path), "mappings", "validate", "--live", str(mapping)], capsys)

    assert code == 2
    assert "jobtitel" in err


def test_validate_live_accepts_shipped_mapping(sandbox, settings_path, capsys):
    code, out, err = run(["--config", str(settings_path), "mappings", "validate", "--live"], capsys)
    assert code == 0, err
    assert "valid against both CRMs" in out


def test_mappings_plan_and_diff(sandbox, settings_path, tmp_path, capsys):
    assert run(["--config", str(settings_path), "sync"], capsys)[0] == 0
    changed = tmp_path / "changed.yaml"
    changed.write_text(DEFAULT_MAPPING.read_text(encoding="utf-8").replace(
        "last_name:  {hubspot: lastname, dynamics: lastname, transforms: [trim]}",
        "last_name:  {hubspot: lastname, dynamics: lastname, transforms: [trim, uppercase]}"), encoding="utf-8")

    code, out, err = run(["--config", str(settings_path), "mappings", "plan", str(changed), "--diff", str(DEFAULT_MAPPING)], capsys)

    assert code == 0, err
    assert "last_name" in out
    assert "dealstage" in out
