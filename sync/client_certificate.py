"""Client certificates for Entra ID: a PEM file with an RSA private key and its certificate.

The thumbprint of a certificate is the SHA-1 digest of its DER form in hex, as the app
registration's "Certificates & secrets" page shows it. msal sends it base64url-encoded in
the `x5t` header of the client assertion it signs with the private key (RS256), and Entra
ID finds the registered certificate by it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

_PEM_BLOCK = re.compile(rb"-----BEGIN (?P<label>[A-Z0-9 ]+)-----.+?-----END (?P=label)-----", re.DOTALL)
_THUMBPRINT = re.compile(r"^[0-9A-F]{40}$")
_UNENCRYPT_FIX = ("write the key without a passphrase (openssl pkey -in FILE -out plain.pem) and let only crmsync "
                  "read the file")


class CertificateError(ValueError):
    """A client certificate file that cannot be used, with the fix."""

    def __init__(self, reason: str, fix: str) -> None:
        self.reason = reason
        self.fix = fix
        super().__init__(f"{reason}; {fix}")


@dataclass(frozen=True)
class ClientCertificate:
    """An RSA private key in unencrypted PKCS#8 PEM, and the SHA-1 thumbprint (upper-case hex) of its certificate."""

    private_key: str
    thumbprint: str

    def credential(self) -> dict[str, str]:
        """Return the `client_credential` that `msal.ConfidentialClientApplication` takes for a certificate."""
        return {"private_key": self.private_key, "thumbprint": self.thumbprint}


def normalise_thumbprint(text: str) -> str:
    """Return a SHA-1 thumbprint as 40 upper-case hex digits; colons and spaces are dropped.

    Raises `ValueError` when the text is not a SHA-1 thumbprint.
    """
    thumbprint = re.sub(r"[\s:]", "", text).upper()
    if not _THUMBPRINT.match(thumbprint):
        raise ValueError(
            f"'{text}' is not a SHA-1 certificate thumbprint (40 hex digits); copy the thumbprint from the app "
            "registration's 'Certificates & secrets' page, or remove the setting to compute it from the certificate"
        )
    return thumbprint


def thumbprint_of(certificate: x509.Certificate) -> str:
    """Return the SHA-1 thumbprint of a certificate as upper-case hex."""
    return certificate.fingerprint(hashes.SHA1()).hex().upper()


def load_client_certificate(path: Path, thumbprint: str | None = None) -> ClientCertificate:
    """Read the private key and certificate of `path`; `thumbprint` overrides the computed one.

    Raises `CertificateError` when the file is missing or unreadable, or contains no usable
    RSA private key. It is also raised when the certificate is of another key, when there
    is no certificate and no `thumbprint`, and when `thumbprint` differs from the certificate's.
    """
    blocks = _pem_blocks(path)
    key = _private_key(path, blocks)
    certificate = _certificate(path, blocks)
    if certificate is None:
        if thumbprint is None:
            raise CertificateError(
                f"{path} contains a private key but no certificate, so its thumbprint is unknown",
                "append the certificate (-----BEGIN CERTIFICATE-----) to the file, or set "
                "dynamics.client_certificate_thumbprint to the thumbprint the app registration shows",
            )
        return ClientCertificate(_pkcs8(key), thumbprint)

    if certificate.public_key().public_numbers() != key.public_key().public_numbers():
        raise CertificateError(
            f"the private key in {path} does not belong to the certificate in the same file",
            "put the certificate and the private key it was issued for into one PEM file",
        )
    computed = thumbprint_of(certificate)
    if thumbprint is not None and thumbprint != computed:
        raise CertificateError(
            f"dynamics.client_certificate_thumbprint {thumbprint} differs from the thumbprint {computed} of the "
            f"certificate in {path}",
            "remove dynamics.client_certificate_thumbprint to use the certificate's own thumbprint",
        )
    return ClientCertificate(_pkcs8(key), computed)


def _pem_blocks(path: Path) -> list[tuple[str, bytes]]:
    try:
        content = Path(path).read_bytes()
    except FileNotFoundError:
        raise CertificateError(f"certificate file {path} not found",
                               "give the path of the PEM file with the certificate and its private key") from None
    except OSError as error:
        raise CertificateError(f"certificate file {path} cannot be read: {error.strerror}",
                               "check the path and let the user crmsync runs as read the file") from None
    return [(match.group("label").decode(), match.group(0)) for match in _PEM_BLOCK.finditer(content)]


def _private_key(path: Path, blocks: list[tuple[str, bytes]]) -> rsa.RSAPrivateKey:
    found = [(label, block) for label, block in blocks if label.endswith("PRIVATE KEY")]
    if not found:
        raise CertificateError(f"{path} contains no PEM private key (-----BEGIN PRIVATE KEY-----)",
                               "export the certificate with its private key to PEM, for example with "
                               "'openssl pkcs12 -in cert.pfx -out cert.pem -nodes'")
    label, block = found[0]
    if label == "ENCRYPTED PRIVATE KEY":
        raise CertificateError(f"the private key in {path} is encrypted with a passphrase", _UNENCRYPT_FIX)
    try:
        key = serialization.load_pem_private_key(block, password=None)
    except TypeError:
        raise CertificateError(f"the private key in {path} is encrypted with a passphrase", _UNENCRYPT_FIX) from None
    except ValueError:
        raise CertificateError(f"the private key in {path} is not a valid PEM private key",
                               "export the private key again in PEM form") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateError(f"the private key in {path} is not an RSA key, and msal signs client assertions "
                               "with RS256", "create the certificate with an RSA key (2048 bits or more)")
    return key


def _certificate(path: Path, blocks: list[tuple[str, bytes]]) -> x509.Certificate | None:
    found = [block for label, block in blocks if label == "CERTIFICATE"]
    if not found:
        return None
    try:
        return x509.load_pem_x509_certificate(found[0])
    except ValueError:
        raise CertificateError(f"the first certificate in {path} is not a valid PEM certificate",
                               "export the certificate again in PEM form") from None


def _pkcs8(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
