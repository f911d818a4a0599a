"""Access tokens for the Dataverse Web API: MSAL client credentials, cached by MSAL.

The client credential is the client secret, or a certificate: msal then signs a client
assertion (a JWT) with the certificate's private key for each token request. One
`msal.ConfidentialClientApplication` serves every call, so its token cache makes a
token request only when the cached token has less than five minutes left. `renew()`
builds a new application, which is how a 401 from the Web API forces a fresh token.
"""

from __future__ import annotations

import msal
import requests
import structlog

from sync.client_certificate import CertificateError, load_client_certificate
from sync.errors import ConfigError, Problem
from sync.settings import DynamicsSettings

log = structlog.get_logger(__name__)

PUBLIC_AUTHORITY_HOST = "https://login.microsoftonline.com"
_FIXES = {
    "AADSTS7000215": "set dynamics.client_secret (or CRMSYNC_DYNAMICS_CLIENT_SECRET) to the secret's value, "
                     "not its id, from the app registration's 'Certificates & secrets' page",
    "AADSTS7000222": "create a new client secret in the app registration and update dynamics.client_secret",
    "AADSTS700016": "check dynamics.client_id and dynamics.tenant_id against the app registration",
    "AADSTS90002": "check dynamics.tenant_id: the tenant was not found",
    "AADSTS700027": "upload the certificate of dynamics.client_certificate_path (its public part, a .cer or .pem "
                    "file) on the app registration's 'Certificates & secrets' page, or point the setting at the "
                    "certificate registered there",
    "AADSTS700024": "check the clock of the crmsync host: the client assertion is valid for 10 minutes from that time",
}
# Entra ID codes about the client credential itself, rather than the client id or tenant.
_CREDENTIAL_CODES = frozenset({"AADSTS7000215", "AADSTS7000222", "AADSTS7000218", "AADSTS700027", "AADSTS700024"})


def build_session(settings: DynamicsSettings) -> requests.Session:
    """Return a session that trusts `settings.ca_bundle` when set and ignores proxy variables."""
    session = requests.Session()
    session.trust_env = False
    if settings.ca_bundle is not None:
        session.verify = str(settings.ca_bundle)
    return session


class TokenProvider:
    """Get access tokens for `settings.scope` with the client-credentials flow."""

    def __init__(self, settings: DynamicsSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.session = session or build_session(settings)
        self._app: msal.ConfidentialClientApplication | None = None

    def token(self) -> str:
        """Return a valid access token. Raises `ConfigError` when Entra ID rejects the client."""
        result = self._application().acquire_token_for_client(scopes=[self.settings.scope])
        if "access_token" not in result:
            raise self._config_error(result)
        log.debug("dynamics.token", token_source=result.get("token_source"))
        return result["access_token"]

    def renew(self) -> None:
        """Drop the cached token, so the next `token()` asks Entra ID for a new one."""
        self._app = None

    def _application(self) -> msal.ConfidentialClientApplication:
        if self._app is not None:
            return self._app
        authority = f"{self.settings.authority_host}/{self.settings.tenant_id}"
        try:
            self._app = msal.ConfidentialClientApplication(
                self.settings.client_id,
                client_credential=self._credential(),
                authority=authority,
                http_client=self.session,
                instance_discovery=None if self.settings.authority_host == PUBLIC_AUTHORITY_HOST else False,
            )
        except (ValueError, requests.RequestException) as error:
            raise ConfigError(Problem(
                f"the token authority {authority} could not be reached or is invalid: {error}",
                field="dynamics.authority_host",
                fix="check dynamics.authority_host and dynamics.tenant_id, and dynamics.ca_bundle for a private CA",
            )) from None
        return self._app

    def _credential(self) -> str | dict[str, str]:
        """Return the secret, or the private key and thumbprint that msal signs client assertions with."""
        path = self.settings.client_certificate_path
        if path is None:
            return self.settings.client_secret.get_secret_value() if self.settings.client_secret else ""
        try:
            return load_client_certificate(path, self.settings.client_certificate_thumbprint).credential()
        except CertificateError as error:
            raise ConfigError(Problem(error.reason, field="dynamics.client_certificate_path", fix=error.fix)) from None

    def _credential_field(self) -> str:
        if self.settings.client_certificate_path is None:
            return "dynamics.client_secret"
        return "dynamics.client_certificate_path"

    def _config_error(self, result: dict) -> ConfigError:
        description = str(result.get("error_description") or result.get("error") or "no access token returned")
        first_line = description.splitlines()[0]
        code = first_line.split(":", 1)[0]
        fix = _FIXES.get(code, "check the app registration of the client id in the tenant")
        return ConfigError(Problem(
            f"Entra ID rejected client {self.settings.client_id} of tenant {self.settings.tenant_id}: "
            f"{result.get('error', 'error')}: {first_line}",
            field=self._credential_field() if code in _CREDENTIAL_CODES else "dynamics.client_id",
            fix=fix,
        ))
