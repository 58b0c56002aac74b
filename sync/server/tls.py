"""The server's self-signed TLS certificate, made once in the data folder.

Clients pin its SHA-256 fingerprint at enrollment (the hex of SHA-256 over the
DER certificate, upper case, colon separated: ``AB:CD:…``), so a self-signed
certificate is as safe as a bought one for this use.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.oid import NameOID

CERT_NAME = "tls-cert.pem"
KEY_NAME = "tls-key.pem"
VALID_DAYS = 3650


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _names() -> tuple[list[x509.GeneralName], str]:
    host = socket.gethostname() or "localhost"
    dns = ["localhost"]
    if host and host.lower() != "localhost":
        dns.append(host)
        fqdn = socket.getfqdn()
        if fqdn and fqdn not in dns and "." in fqdn:
            dns.append(fqdn)
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    names += [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    return names, host


def make_self_signed(cert_path: Path, key_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    names, host = _names()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, host[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "PeerTrail sync server"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))


def ensure_self_signed(data_dir: Path) -> tuple[Path, Path]:
    """The data folder's certificate and key, made on first use."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    cert_path, key_path = data_dir / CERT_NAME, data_dir / KEY_NAME
    if not (cert_path.exists() and key_path.exists()):
        make_self_signed(cert_path, key_path)
    return cert_path, key_path


def fingerprint_sha256(cert_path: Path) -> str:
    """``AB:CD:…``: SHA-256 over the DER form of the (first) certificate in the file."""
    cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    return format_fingerprint(
        hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()
    )


def format_fingerprint(digest: bytes) -> str:
    return ":".join(f"{b:02X}" for b in digest)
