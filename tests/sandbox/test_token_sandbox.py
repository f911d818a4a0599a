"""The Entra ID token sandbox, driven by msal over HTTPS."""

from datetime import UTC, datetime, timedelta

import msal
import pytest
import requests

from sync.sandbox.token import TokenSandbox

SCOPES = ["https://org.example/.default"]


class Clock:
    def __init__(self):
        self.now = datetime(2024, 5, 1, tzinfo=UTC)

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def token(tmp_path, clock):
    with TokenSandbox({"app": "right"}, "tenant-1", tmp_path, clock=clock) as sandbox:
        yield sandbox


def _app(token, client_id="app", secret="right"):
    session = requests.Session()
    session.verify = str(token.ca_path)
    session.trust_env = False
    return msal.ConfidentialClientApplication(client_id, client_credential=secret, authority=token.authority,
                                              http_client=session, instance_discovery=False)


def test_issue_and_cache(token):
    app = _app(token)
    first = app.acquire_token_for_client(scopes=SCOPES)
    second = app.acquire_token_for_client(scopes=SCOPES)
    assert second["token_source"] == "cache"
    assert first["access_token"] == second["access_token"]
    assert token.router.counts["token.issue"] == 1


def test_token_valid_until_expiry(token, clock):
    access = _app(token).acquire_token_for_client(scopes=SCOPES)["access_token"]
    assert token.is_valid(access)
    clock.now += timedelta(seconds=3600)
    assert not token.is_valid(access)


def test_wrong_secret(token):
    result = _app(token, secret="wrong").acquire_token_for_client(scopes=SCOPES)
    assert result["error"] == "invalid_client"
    assert result["error_description"].startswith("AADSTS7000215")


def test_unknown_client(token):
    result = _app(token, client_id="other").acquire_token_for_client(scopes=SCOPES)
    assert result["error_description"].startswith("AADSTS700016")


def test_expired_secret(token):
    token.expire_secret("app")
    result = _app(token).acquire_token_for_client(scopes=SCOPES)
    assert result["error_description"].startswith("AADSTS7000222")


def test_ca_file_written(token, tmp_path):
    assert token.ca_path == tmp_path / "sandbox-ca.pem"
    assert token.ca_path.read_text().startswith("-----BEGIN CERTIFICATE-----")
