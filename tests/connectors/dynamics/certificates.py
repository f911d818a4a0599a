"""Self-signed client certificates for the certificate credential tests, made with `cryptography`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class GeneratedCertificate:
    """A private key and its self-signed certificate, both PEM, and the certificate's SHA-1 thumbprint."""

    key_pem: bytes
    certificate_pem: bytes
    thumbprint: str

    def write(self, path: Path, *, key: bool = True, certificate: bool = True) -> Path:
        """Write the key and the certificate (or one of them) into one PEM file and return its path."""
        content = b""
        if key:
            content += self.key_pem
        if certificate:
            content += self.certificate_pem
        path.write_bytes(content)
        return path


def make_certificate(name: str = "crmsync-test", *, key_type: str = "rsa",
                     passphrase: bytes | None = None) -> GeneratedCertificate:
    """Make a key (RSA 2048 or EC P-256) and a self-signed certificate for it, valid for a year from 2024-01-01."""
    if key_type == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = datetime(2024, 1, 1, tzinfo=UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + timedelta(days=366))
        .sign(key, hashes.SHA256())
    )
    encryption = (serialization.BestAvailableEncryption(passphrase) if passphrase
                  else serialization.NoEncryption())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    return GeneratedCertificate(key_pem, certificate.public_bytes(serialization.Encoding.PEM),
                           certificate.fingerprint(hashes.SHA1()).hex().upper())
