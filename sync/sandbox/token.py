"""A local Entra ID token endpoint for the client-credentials flow, served over HTTPS.

MSAL accepts only https authorities, so the server's certificate comes from a CA that
`trustme` generates at start-up. Its PEM is written to `ca_dir / "sandbox-ca.pem"`; a
client trusts it with `requests.Session().verify = ca_path`.

Served endpoints, as msal 1.39 calls them:

- `GET /{tenant}/v2.0/.well-known/openid-configuration`: the discovery document.
- `POST /{tenant}/oauth2/v2.0/token`: client-credentials tokens, for a client secret or a
  client assertion (a JWT signed with the private key of a registered certificate).
- `GET /common/discovery/instance`: instance discovery and authority aliases, which msal
  calls only when `instance_discovery` is not False.

Access tokens are opaque random strings valid for 3599 seconds by the sandbox clock.
The reply carries no `scope`, as Entra ID does for client credentials, because msal would
use a differing scope as its cache key and miss its own cache.
"""

from __future__ import annotations

import base64
import secrets
import ssl
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import jwt
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from sync.sandbox.http import Request, Response, Router, SandboxServer

TOKEN_LIFETIME_SECONDS = 3599
CA_FILE_NAME = "sandbox-ca.pem"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ("RS256", "PS256")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class TokenSandbox:
    """An HTTPS Entra ID token endpoint on a loopback port.

    `clients` maps client ids to their secrets; `add_certificate` registers a certificate
    for a client, with or without a secret. `clock` returns an aware UTC datetime and
    decides token and client assertion expiry. Construction binds the port and writes the
    CA file; `start()` serves requests.
    """

    def __init__(
        self,
        clients: dict[str, str],
        tenant_id: str,
        ca_dir: Path,
        clock: Callable[[], datetime] | None = None,
        port: int = 0,
    ) -> None:
        self.clients = dict(clients)
        self.tenant_id = tenant_id
        self.clock = clock or _utcnow
        self.expired_secrets: set[str] = set()
        self.certificates: dict[str, list[x509.Certificate]] = {}
        self._tokens: dict[str, tuple[str, datetime]] = {}
        self._lock = threading.Lock()

        authority = trustme.CA()
        self.ca_path = Path(ca_dir) / CA_FILE_NAME
        self.ca_path.parent.mkdir(parents=True, exist_ok=True)
        authority.cert_pem.write_to_path(str(self.ca_path))
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert("127.0.0.1", "localhost", "::1").configure_cert(tls)

        self.router = Router()
        self._add_routes()
        self.server = SandboxServer(self.router, port=port, tls=tls)

    @property
    def url(self) -> str:
        """The authority host, such as `https://127.0.0.1:PORT`."""
        return self.server.url

    @property
    def authority(self) -> str:
        """The authority URL msal takes: host and tenant."""
        return f"{self.url}/{self.tenant_id}"

    def start(self) -> TokenSandbox:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> TokenSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def expire_secret(self, client_id: str) -> None:
        """Mark a client's secret as expired, so token requests fail with AADSTS7000222."""
        self.expired_secrets.add(client_id)

    def add_certificate(self, client_id: str, certificate_pem: str | bytes) -> None:
        """Register a PEM certificate for a client, as uploading it to the app registration does."""
        data = certificate_pem.encode() if isinstance(certificate_pem, str) else certificate_pem
        self.certificates.setdefault(client_id, []).append(x509.load_pem_x509_certificate(data))

    def is_valid(self, token: str) -> bool:
        """Tell whether `token` was issued here and has not expired by the clock."""
        with self._lock:
            entry = self._tokens.get(token)
        if entry is None:
            return False
        return self.clock() < entry[1]

    def client_of(self, token: str) -> str | None:
        """Return the client id a token was issued to, or None for an unknown token."""
        with self._lock:
            entry = self._tokens.get(token)
        return None if entry is None else entry[0]

    def revoke_all(self) -> None:
        """Forget every issued token, so the next Web API call answers 401."""
        with self._lock:
            self._tokens.clear()

    def _add_routes(self) -> None:
        tenant = r"/(?P<tenant>[^/]+)"
        self.router.add("GET", tenant + r"/v2\.0/\.well-known/openid-configuration", "token.discovery", self._discovery)
        self.router.add("POST", tenant + r"/oauth2/v2\.0/token", "token.issue", self._issue)
        self.router.add("GET", r"/common/discovery/instance", "token.instance_discovery", self._instance_discovery)

    def _discovery(self, request: Request) -> Response:
        tenant = request.params["tenant"]
        if tenant != self.tenant_id:
            return _oauth_error(400, "invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found.")

        base = f"{self.url}/{tenant}"
        return Response(200, {
            "issuer": f"{base}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "tenant_region_scope": "EU",
        })

    def _instance_discovery(self, request: Request) -> Response:
        host = self.url.split("://", 1)[1]
        return Response(200, {
            "tenant_discovery_endpoint": f"{self.url}/{self.tenant_id}/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        })

    def _issue(self, request: Request) -> Response:
        form = {key: values[0] for key, values in parse_qs(request.body.decode()).items()}
        if request.params["tenant"] != self.tenant_id:
            return _oauth_error(400, "invalid_request", f"AADSTS90002: Tenant '{request.params['tenant']}' not found.")
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
        if not form.get("scope"):
            return _oauth_error(400, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid.")

        rejection = self._check_client(form)
        if rejection is not None:
            return rejection

        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = (form["client_id"], self.clock() + timedelta(seconds=TOKEN_LIFETIME_SECONDS))
        return Response(200, {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "ext_expires_in": TOKEN_LIFETIME_SECONDS,
            "access_token": token,
        })

    def _check_client(self, form: dict[str, str]) -> Response | None:
        client_id = form.get("client_id", "")
        if client_id not in self.clients and client_id not in self.certificates:
            return _oauth_error(400, "unauthorized_client", (
                f"AADSTS700016: Application with identifier '{client_id}' was not found in the directory "
                f"'{self.tenant_id}'."
            ))
        if "client_assertion" in form or "client_assertion_type" in form:
            return self._check_assertion(client_id, form)
        if "client_secret" not in form:
            return _oauth_error(401, "invalid_client", (
                "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or "
                "'client_secret'."
            ))
        return self._check_secret(client_id, form["client_secret"])

    def _check_secret(self, client_id: str, secret: str) -> Response | None:
        expected = self.clients.get(client_id)
        if expected is None or not secrets.compare_digest(expected.encode(), secret.encode()):
            return _oauth_error(400, "invalid_client", (
                f"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request "
                f"is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ))
        if client_id in self.expired_secrets:
            return _oauth_error(400, "invalid_client", (
                f"AADSTS7000222: The provided client secret keys for app '{client_id}' are expired."
            ))
        return None


    def _check_assertion(self, client_id: str, form: dict[str, str]) -> Response | None:
        """Check a client assertion as Entra ID does: type, registered key, signature, audience, issuer, expiry.

        NOTE: the AADSTS codes for a malformed assertion (AADSTS50027), a wrong audience and
        a wrong issuer (AADSTS700021) are not confirmed by a source read for this project.
        The others are the ones Entra ID returns.
        """
        assertion = form.get("client_assertion", "")
        if form.get("client_assertion_type") != JWT_BEARER or not assertion:
            return _oauth_error(400, "invalid_request", (
                f"AADSTS50027: JWT token is invalid or malformed: client_assertion_type must be '{JWT_BEARER}' "
                "with a client_assertion."
            ))
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.DecodeError:
            return _oauth_error(400, "invalid_client", "AADSTS50027: JWT token is invalid or malformed.")
        if header.get("alg") not in ASSERTION_ALGORITHMS:
            return _oauth_error(400, "invalid_client", (
                f"AADSTS50027: JWT token is invalid or malformed: the algorithm '{header.get('alg')}' is not supported."
            ))

        thumbprint, certificate = self._registered_key(client_id, header)
        if certificate is None:
            return _invalid_signature(client_id, "The key was not found.", thumbprint)
        return self._check_claims(client_id, assertion, header["alg"], thumbprint, certificate)

    def _registered_key(self, client_id: str, header: dict) -> tuple[str, x509.Certificate | None]:
        """Return the thumbprint the assertion names (hex) and the registered certificate it matches."""
        named = header.get("x5t#S256") or header.get("x5t") or ""
        algorithm: hashes.HashAlgorithm = hashes.SHA256() if "x5t#S256" in header else hashes.SHA1()
        try:
            thumbprint = base64.urlsafe_b64decode(named + "=" * (-len(named) % 4)).hex().upper()
        except ValueError:
            thumbprint = named
        for certificate in self.certificates.get(client_id, []):
            if certificate.fingerprint(algorithm).hex().upper() == thumbprint:
                return thumbprint, certificate
        return thumbprint, None

    def _check_claims(self, client_id: str, assertion: str, algorithm: str, thumbprint: str,
                      certificate: x509.Certificate) -> Response | None:
        token_endpoint = f"{self.url}/{self.tenant_id}/oauth2/v2.0/token"
        try:
            # Expiry is checked below by the sandbox clock, not by the wall clock.
            claims = jwt.decode(assertion, certificate.public_key(), algorithms=[algorithm], audience=token_endpoint,
                                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                                         "require": ["aud", "exp", "iss", "sub"]})
        except jwt.InvalidSignatureError:
            found = (f"Found key 'Start={certificate.not_valid_before_utc:%m/%d/%Y %H:%M:%S}, "
                     f"End={certificate.not_valid_after_utc:%m/%d/%Y %H:%M:%S}'")
            return _invalid_signature(client_id, "The provided signature value did not match the expected signature "
                                      "value.", thumbprint, found)
        except jwt.InvalidAudienceError:
            return _oauth_error(400, "invalid_client", (
                f"AADSTS50027: JWT token is invalid or malformed: the audience of the client assertion is not "
                f"the token endpoint '{token_endpoint}'."
            ))
        except jwt.InvalidTokenError as error:
            return _oauth_error(400, "invalid_client", f"AADSTS50027: JWT token is invalid or malformed: {error}.")

        if claims["iss"] != client_id or claims["sub"] != client_id:
            return _oauth_error(400, "invalid_client", (
                "AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter."
            ))
        now = self.clock()
        expiry = datetime.fromtimestamp(float(claims["exp"]), UTC)
        if expiry <= now:
            return _oauth_error(400, "invalid_client", (
                f"AADSTS700024: Client assertion is not within its valid time range. Current time: "
                f"{now:%Y-%m-%dT%H:%M:%SZ}, expiry time of assertion {expiry:%Y-%m-%dT%H:%M:%SZ}."
            ))
        return None


def _invalid_signature(client_id: str, reason: str, thumbprint: str, found: str = "") -> Response:
    details = f"Thumbprint of key used by client: '{thumbprint}'" + (f", {found}" if found else "")
    return _oauth_error(401, "invalid_client", (
        f"AADSTS700027: Client assertion contains an invalid signature. [Reason - {reason}, {details}, Please visit "
        f"the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'.]"
    ))


def _oauth_error(status: int, code: str, description: str) -> Response:
    return Response(status, {"error": code, "error_description": description, "error_codes": [int(description[6:].split(":")[0])]})
