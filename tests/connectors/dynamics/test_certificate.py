"""Certificate credentials: settings checks, and msal's client assertions against the token sandbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from sync.cli import main
from sync.errors import ConfigError
from sync.model import Kind
from sync.sandbox.server import CLIENT_ID as SANDBOX_CLIENT_ID
from sync.settings import load_settings
from sync.yamlfile import load_yaml, plain
from tests.connectors.dynamics.certificates import make_certificate
from tests.connectors.dynamics.sandboxes import CLIENT_ID, TENANT, running_sandboxes


@pytest.fixture(scope="module")
def registered():
    return make_certificate("crmsync-registered")


@pytest.fixture(scope="module")
def unregistered():
    return make_certificate("crmsync-unregistered")


@pytest.fixture
def boxes(tmp_path, registered):
    with running_sandboxes(tmp_path) as sandboxes:
        sandboxes.token.add_certificate(CLIENT_ID, registered.certificate_pem)
        yield sandboxes


def _contact(boxes):
    return boxes.dataverse.add_row("contacts", {"lastname": "Lee", "emailaddress1": "lee@example.com"})


def _settings_file(tmp_path, **dynamics):
    """Write a settings file (JSON, which is YAML too) with `dynamics` added to the required settings."""
    document = {
        "hubspot": {"access_token": "pat-test"},
        "dynamics": {"url": "https://org.example.crm.dynamics.com", "tenant_id": TENANT, "client_id": CLIENT_ID,
                     **dynamics},
    }
    path = tmp_path / "crmsync.yaml"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def _problem(path, environ=None):
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ or {})
    return str(caught.value)


# Token requests with a certificate.

def test_certificate_reads_without_secret(boxes, tmp_path, registered):
    contact = _contact(boxes)
    path = registered.write(tmp_path / "client.pem")
    connector = boxes.connector(secret=None, client_certificate_path=path)

    result = connector.read(Kind.CONTACT, None)

    assert [record.id for record in result.records] == [contact]
    assert boxes.token.router.counts["token.issue"] == 1


def test_key_only_file_with_thumbprint(boxes, tmp_path, registered):
    _contact(boxes)
    path = registered.write(tmp_path / "key.pem", certificate=False)
    connector = boxes.connector(secret=None, client_certificate_path=path,
                                client_certificate_thumbprint=registered.thumbprint.lower())
    assert len(connector.read(Kind.CONTACT, None).records) == 1


def test_unregistered_certificate_config_error(boxes, tmp_path, unregistered):
    path = unregistered.write(tmp_path / "other.pem")
    connector = boxes.connector(secret=None, client_certificate_path=path)

    with pytest.raises(ConfigError) as caught:
        connector.read(Kind.CONTACT, None)

    problem = caught.value.problems[0]
    assert "AADSTS700027" in problem.message
    assert "The key was not found" in problem.message
    assert unregistered.thumbprint in problem.message
    assert problem.field == "dynamics.client_certificate_path"
    assert "Certificates & secrets" in problem.fix
    assert "PRIVATE KEY" not in str(caught.value)


def test_wrong_key_for_thumbprint(boxes, tmp_path, registered, unregistered):
    path = unregistered.write(tmp_path / "key.pem", certificate=False)
    connector = boxes.connector(secret=None, client_certificate_path=path,
                                client_certificate_thumbprint=registered.thumbprint)

    with pytest.raises(ConfigError) as caught:
        connector.read(Kind.CONTACT, None)

    assert "AADSTS700027" in str(caught.value)
    assert "did not match the expected signature" in str(caught.value)


def test_host_clock_behind_config_error(boxes, tmp_path, registered):
    # The token endpoint's clock is an hour past this host's, so msal's assertion has expired there.
    boxes.clock.now = datetime.now(UTC) + timedelta(hours=1)
    connector = boxes.connector(secret=None, client_certificate_path=registered.write(tmp_path / "client.pem"))

    with pytest.raises(ConfigError) as caught:
        connector.read(Kind.CONTACT, None)

    problem = caught.value.problems[0]
    assert "AADSTS700024" in problem.message
    assert problem.field == "dynamics.client_certificate_path"
    assert "clock" in problem.fix


def test_certificate_file_removed_config_error(boxes, tmp_path, registered):
    path = registered.write(tmp_path / "client.pem")
    connector = boxes.connector(secret=None, client_certificate_path=path)
    path.unlink()

    with pytest.raises(ConfigError) as caught:
        connector.read(Kind.CONTACT, None)

    assert caught.value.problems[0].field == "dynamics.client_certificate_path"
    assert "not found" in str(caught.value)


def test_cli_sync_with_certificate(sandbox, settings_path, tmp_path, registered, capsys):
    sandbox.token.add_certificate(SANDBOX_CLIENT_ID, registered.certificate_pem)
    document = plain(load_yaml(settings_path))
    document["dynamics"].pop("client_secret")
    document["dynamics"]["client_certificate_path"] = "client.pem"
    registered.write(settings_path.parent / "client.pem")
    settings_path.write_text(json.dumps(document, indent=2), encoding="utf-8")

    code = main(["--config", str(settings_path), "sync"])

    assert code == 0, capsys.readouterr().err
    assert len(sandbox.dataverse.rows("contacts")) == 2


# Settings checks, all at load time.

def test_settings_computes_thumbprint(tmp_path, registered):
    registered.write(tmp_path / "client.pem")
    settings = load_settings(_settings_file(tmp_path, client_certificate_path="client.pem"), {})
    assert settings.dynamics.client_certificate_path == tmp_path / "client.pem"
    assert settings.dynamics.client_secret is None


def test_settings_certificate_from_environment(tmp_path, registered):
    path = registered.write(tmp_path / "client.pem")
    environ = {"CRMSYNC_DYNAMICS_CLIENT_CERTIFICATE_PATH": str(path)}
    settings = load_settings(_settings_file(tmp_path), environ)
    assert settings.dynamics.client_certificate_path == path


def test_settings_no_credential(tmp_path):
    message = _problem(_settings_file(tmp_path))
    assert "dynamics.client_secret" in message
    assert "no client credential is set" in message
    assert "CRMSYNC_DYNAMICS_CLIENT_CERTIFICATE_PATH" in message


def test_settings_secret_and_certificate(tmp_path, registered):
    registered.write(tmp_path / "client.pem")
    path = _settings_file(tmp_path, client_secret="s3cret-value", client_certificate_path="client.pem")
    message = _problem(path)
    assert f"{path}:" in message
    assert "both dynamics.client_secret and dynamics.client_certificate_path are set" in message
    assert "s3cret-value" not in message


def test_settings_environment_secret_and_certificate(tmp_path, registered):
    registered.write(tmp_path / "client.pem")
    path = _settings_file(tmp_path, client_certificate_path="client.pem")
    message = _problem(path, {"CRMSYNC_DYNAMICS_CLIENT_SECRET": "s3cret-value"})
    assert "CRMSYNC_DYNAMICS_CLIENT_SECRET" in message


def test_settings_missing_certificate_file(tmp_path):
    message = _problem(_settings_file(tmp_path, client_certificate_path="absent.pem"))
    assert "dynamics.client_certificate_path" in message
    assert f"certificate file {tmp_path / 'absent.pem'} not found" in message


def test_settings_unreadable_certificate_file(tmp_path):
    (tmp_path / "folder.pem").mkdir()
    message = _problem(_settings_file(tmp_path, client_certificate_path="folder.pem"))
    assert "cannot be read" in message


@pytest.mark.parametrize(("content", "expected"), [
    (b"not a certificate at all\n", "contains no PEM private key"),
    (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "is not a valid PEM private key"),
], ids=["garbage", "broken-key"])
def test_settings_invalid_pem(tmp_path, content, expected):
    (tmp_path / "client.pem").write_bytes(content)
    message = _problem(_settings_file(tmp_path, client_certificate_path="client.pem"))
    assert expected in message
    assert "dynamics.client_certificate_path" in message


def test_settings_encrypted_key(tmp_path):
    make_certificate(passphrase=b"pass phrase").write(tmp_path / "client.pem")
    message = _problem(_settings_file(tmp_path, client_certificate_path="client.pem"))
    assert "encrypted with a passphrase" in message
    assert "openssl pkey" in message


def test_settings_ec_key(tmp_path):
    make_certificate(key_type="ec").write(tmp_path / "client.pem")
    message = _problem(_settings_file(tmp_path, client_certificate_path="client.pem"))
    assert "is not an RSA key" in message


def test_settings_key_without_certificate(tmp_path, registered):
    registered.write(tmp_path / "client.pem", certificate=False)
    message = _problem(_settings_file(tmp_path, client_certificate_path="client.pem"))
    assert "no certificate" in message
    assert "dynamics.client_certificate_thumbprint" in message


def test_settings_key_of_other_certificate(tmp_path, registered, unregistered):
    (tmp_path / "client.pem").write_bytes(unregistered.key_pem + registered.certificate_pem)
    message = _problem(_settings_file(tmp_path, client_certificate_path="client.pem"))
    assert "does not belong to the certificate" in message


def test_settings_thumbprint_differs(tmp_path, registered, unregistered):
    registered.write(tmp_path / "client.pem")
    path = _settings_file(tmp_path, client_certificate_path="client.pem",
                          client_certificate_thumbprint=unregistered.thumbprint)
    message = _problem(path)
    assert f"differs from the thumbprint {registered.thumbprint}" in message


def test_settings_thumbprint_format(tmp_path, registered):
    registered.write(tmp_path / "client.pem")
    path = _settings_file(tmp_path, client_certificate_path="client.pem", client_certificate_thumbprint="12:34")
    message = _problem(path)
    assert "dynamics.client_certificate_thumbprint" in message
    assert "not a SHA-1 certificate thumbprint" in message


def test_settings_thumbprint_colons_accepted(tmp_path, registered):
    registered.write(tmp_path / "client.pem")
    spaced = ":".join(registered.thumbprint[i:i + 2] for i in range(0, 40, 2)).lower()
    settings = load_settings(_settings_file(tmp_path, client_certificate_path="client.pem",
                                            client_certificate_thumbprint=spaced), {})
    assert settings.dynamics.client_certificate_thumbprint == registered.thumbprint


def test_settings_thumbprint_without_certificate(tmp_path, registered):
    path = _settings_file(tmp_path, client_secret="s3cret", client_certificate_thumbprint=registered.thumbprint)
    message = _problem(path)
    assert "client_certificate_thumbprint is set without a certificate" in message


def test_cli_reports_certificate_problem(tmp_path, capsys):
    path = _settings_file(tmp_path, client_certificate_path="absent.pem")
    code = main(["--config", str(path), "sync"])
    err = capsys.readouterr().err
    assert code == 2
    assert "dynamics.client_certificate_path" in err
    assert "Traceback" not in err
