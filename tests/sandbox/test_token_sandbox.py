"""The Entra ID token sandbox, driven by msal over HTTPS, with client secrets and certificates."""

import base64
from datetime import UTC, datetime, timedelta

import jwt
import msal
import pytest
import requests
from cryptography.hazmat.primitives import serialization

from sync.sandbox.token import JWT_BEARER, TokenSandbox
from tests.connectors.dynamics.certificates import make_certificate

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


# Client assertions signed with a certificate's private key.

@pytest.fixture(scope="module")
def certificate():
    return make_certificate("sandbox-client")


@pytest.fixture
def registered(token, certificate):
    token.add_certificate("cert-app", certificate.certificate_pem)
    return certificate


def _certificate_app(token, credential, client_id="cert-app"):
    session = requests.Session()
    session.verify = str(token.ca_path)
    session.trust_env = False
    return msal.ConfidentialClientApplication(client_id, client_credential=credential, authority=token.authority,
                                              http_client=session, instance_discovery=False)


def _post_assertion(token, assertion, client_id="cert-app", assertion_type=JWT_BEARER):
    form = {"grant_type": "client_credentials", "client_id": client_id, "scope": SCOPES[0],
            "client_assertion_type": assertion_type, "client_assertion": assertion}
    response = requests.post(f"{token.authority}/oauth2/v2.0/token", data=form, verify=str(token.ca_path), timeout=5)
    return response.json()


def _assertion(token, certificate, *, audience=None, issuer="cert-app"):
    """Sign an assertion as msal does (RS256, x5t header), with an audience and issuer that a test may change."""
    key = serialization.load_pem_private_key(certificate.key_pem, password=None)
    thumbprint = base64.urlsafe_b64encode(bytes.fromhex(certificate.thumbprint)).decode()
    claims = {"aud": audience or f"{token.authority}/oauth2/v2.0/token", "iss": issuer, "sub": issuer,
              "exp": (token.clock() + timedelta(minutes=10)).timestamp(), "jti": "1"}
    return jwt.encode(claims, key, algorithm="RS256", headers={"x5t": thumbprint})


def test_certificate_sha1_thumbprint(token, registered):
    credential = {"private_key": registered.key_pem.decode(), "thumbprint": registered.thumbprint}
    result = _certificate_app(token, credential).acquire_token_for_client(scopes=SCOPES)
    assert "access_token" in result
    assert token.client_of(result["access_token"]) == "cert-app"


def test_certificate_sha256_thumbprint(token, registered):
    # Without a thumbprint msal computes the SHA-256 one, signs with PS256 and sends x5t#S256.
    credential = {"private_key": registered.key_pem.decode(), "public_certificate": registered.certificate_pem.decode()}
    assert "access_token" in _certificate_app(token, credential).acquire_token_for_client(scopes=SCOPES)


def test_certificate_not_registered(token, registered):
    other = make_certificate("not-uploaded")
    credential = {"private_key": other.key_pem.decode(), "thumbprint": other.thumbprint}
    result = _certificate_app(token, credential).acquire_token_for_client(scopes=SCOPES)
    assert result["error"] == "invalid_client"
    assert result["error_description"].startswith("AADSTS700027: Client assertion contains an invalid signature.")
    assert "The key was not found." in result["error_description"]
    assert other.thumbprint in result["error_description"]


def test_certificate_signed_by_other_key(token, registered):
    other = make_certificate("not-uploaded")
    credential = {"private_key": other.key_pem.decode(), "thumbprint": registered.thumbprint}
    result = _certificate_app(token, credential).acquire_token_for_client(scopes=SCOPES)
    assert result["error_description"].startswith("AADSTS700027")
    assert "did not match the expected signature value" in result["error_description"]


def test_certificate_of_other_client(token, registered):
    token.clients["other-app"] = "right"
    credential = {"private_key": registered.key_pem.decode(), "thumbprint": registered.thumbprint}
    result = _certificate_app(token, credential, client_id="other-app").acquire_token_for_client(scopes=SCOPES)
    assert "The key was not found." in result["error_description"]


def test_assertion_expired_by_sandbox_clock(token, registered, clock):
    assertion = _assertion(token, registered)
    clock.now += timedelta(minutes=11)
    result = _post_assertion(token, assertion)
    assert result["error_description"].startswith("AADSTS700024")


def test_assertion_reused_before_expiry(token, registered, clock):
    assertion = _assertion(token, registered)
    assert "access_token" in _post_assertion(token, assertion)
    clock.now += timedelta(minutes=9)
    assert "access_token" in _post_assertion(token, assertion)


def test_assertion_wrong_audience(token, registered):
    result = _post_assertion(token, _assertion(token, registered, audience="https://login.example/other/token"))
    assert "audience" in result["error_description"]
    assert "access_token" not in result


def test_assertion_wrong_issuer(token, registered):
    token.clients["other-app"] = "right"
    token.add_certificate("other-app", registered.certificate_pem)
    result = _post_assertion(token, _assertion(token, registered, issuer="cert-app"), client_id="other-app")
    assert result["error_description"].startswith("AADSTS700021")


def test_assertion_unsupported_algorithm(token, registered):
    claims = jwt.decode(_assertion(token, registered), options={"verify_signature": False})
    result = _post_assertion(token, jwt.encode(claims, "a shared secret of 32 bytes or more", algorithm="HS256"))
    assert result["error_description"].startswith("AADSTS50027")


def test_assertion_wrong_type(token, registered):
    result = _post_assertion(token, _assertion(token, registered), assertion_type="urn:example:other")
    assert result["error"] == "invalid_request"


def test_assertion_malformed(token, registered):
    assert _post_assertion(token, "not.a.jwt")["error_description"].startswith("AADSTS50027")


def test_no_secret_no_assertion(token):
    form = {"grant_type": "client_credentials", "client_id": "app", "scope": SCOPES[0]}
    response = requests.post(f"{token.authority}/oauth2/v2.0/token", data=form, verify=str(token.ca_path), timeout=5)
    assert response.json()["error_description"].startswith("AADSTS7000218")


def test_certificate_only_client_secret_rejected(token, registered):
    result = _app(token, client_id="cert-app", secret="guess").acquire_token_for_client(scopes=SCOPES)
    assert result["error_description"].startswith("AADSTS7000215")
