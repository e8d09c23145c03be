"""The fleet's TLS: a CA and the broker's server certificate, made once and renewed before
they run out or when the broker's names change."""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from aedfleet.broker.errors import BrokerConfigError
from aedfleet.broker.files import private_folder, write_private

CA_DAYS: Final = 3650
SERVER_DAYS: Final = 730  # `broker config` issues a new one once fewer than RENEW_DAYS remain
RENEW_DAYS: Final = 60


# TLS 1.2 with forward secrecy and AEAD only (no CBC, no SHA-1); TLS 1.3 suites are all AEAD
TLS_CIPHERS: Final = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305"
)


_CA_KEY_USAGE: Final = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


class TlsFiles:
    def __init__(self, directory: Path) -> None:
        self.ca_cert = directory / "ca.crt"
        self.ca_key = directory / "ca.key"
        self.server_cert = directory / "server.crt"
        self.server_key = directory / "server.key"


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _names(hostnames: Iterable[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hostnames:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _new_ca(days: int) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aedfleet broker CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_CA_KEY_USAGE, critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    return ca_cert, ca_key


def _usages(peer: bool) -> x509.ExtendedKeyUsage:
    """A server's; a cluster node's is a client's too, since nodes dial each other's routes
    and each checks the other's certificate."""
    usages = [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]
    return x509.ExtendedKeyUsage(
        usages + ([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH] if peer else [])
    )


def _server_cert(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    server_key: ec.EllipticCurvePrivateKey,
    hostnames: Sequence[str],
    days: int,
    *,
    peer: bool = False,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    first = hostnames[0] if hostnames else "localhost"
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, first)]))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(_names(hostnames)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usages(peer), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def make_tls(directory: Path, hostnames: Iterable[str], *, days: int = CA_DAYS) -> TlsFiles:
    """A new CA and a server certificate it signed, for the names and addresses clients dial."""
    files = TlsFiles(directory)
    private_folder(directory)
    ca_cert, ca_key = _new_ca(days)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _server_cert(ca_cert, ca_key, server_key, list(hostnames), days)
    write_private(files.ca_key, _pem_key(ca_key))
    write_private(files.server_key, _pem_key(server_key))
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.server_cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    return files


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise BrokerConfigError(f"cannot read the CA key {path}: {error}") from error
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise BrokerConfigError(f"{path} is not an EC private key")
    return key


def _server_cert_current(
    files: TlsFiles, ca_cert: x509.Certificate, hostnames: Sequence[str], *, peer: bool = False
) -> bool:
    """The server certificate names exactly these hosts, was signed by this CA, is for this
    use, and is not about to expire."""
    if not files.server_cert.exists() or not files.server_key.exists():
        return False
    cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        cert.verify_directly_issued_by(ca_cert)
    except (x509.ExtensionNotFound, InvalidSignature, ValueError, TypeError):
        return False
    if set(usages) != set(_usages(peer)):
        return False
    renew_at = cert.not_valid_after_utc - datetime.timedelta(days=RENEW_DAYS)
    return set(san) == set(_names(hostnames)) and datetime.datetime.now(datetime.UTC) < renew_at


def ensure_tls(
    directory: Path,
    hostnames: Sequence[str],
    *,
    ca_cert: Path | None = None,
    ca_key: Path | None = None,
    group: int | None = None,
    peer: bool = False,
) -> TlsFiles:
    """The CA (an external one when `ca_cert` and `ca_key` are given: its key is never copied
    here) and a server certificate for exactly `hostnames`, issued again when they change,
    the CA changes or it is about to expire. `peer`: a cluster node's, for its routes too."""
    files = TlsFiles(directory)
    if (ca_cert is None) != (ca_key is None):
        raise BrokerConfigError("give both --ca-cert and --ca-key for an external CA")
    if ca_cert is not None and ca_key is not None:
        signer_key = _load_key(ca_key)
        pem = ca_cert.read_bytes()
        files.ca_cert.write_bytes(pem)
        files.ca_key.unlink(missing_ok=True)  # the external CA's key stays where it is
    elif files.ca_key.exists() and files.ca_cert.exists():
        signer_key = _load_key(files.ca_key)
        pem = files.ca_cert.read_bytes()
    elif files.ca_cert.exists() and files.server_cert.exists():
        pem = files.ca_cert.read_bytes()  # an external CA given before: keep its certificate
        signer = x509.load_pem_x509_certificate(pem)
        if _server_cert_current(files, signer, hostnames, peer=peer):
            return files
        raise BrokerConfigError(
            "the server certificate must be issued again; give --ca-cert and --ca-key"
        )
    else:
        pem, signer_key = _write_new_ca(files)
    signer = x509.load_pem_x509_certificate(pem)
    if signer_key.public_key().public_numbers() != _public_numbers(signer):
        raise BrokerConfigError("the CA key does not belong to the CA certificate")
    if not _server_cert_current(files, signer, hostnames, peer=peer):
        server_key = ec.generate_private_key(ec.SECP256R1())
        cert = _server_cert(signer, signer_key, server_key, hostnames, SERVER_DAYS, peer=peer)
        write_private(files.server_key, _pem_key(server_key), group=group)
        files.server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    elif group is not None:
        os.chown(files.server_key, -1, group)
        files.server_key.chmod(0o640)
    return files


def _write_new_ca(files: TlsFiles) -> tuple[bytes, ec.EllipticCurvePrivateKey]:
    cert, key = _new_ca(CA_DAYS)
    pem = cert.public_bytes(serialization.Encoding.PEM)
    write_private(files.ca_key, _pem_key(key))
    files.ca_cert.write_bytes(pem)
    return pem, key


def ensure_ca(directory: Path) -> TlsFiles:
    """A CA of our own, made once and kept: a cluster's, which signs every node's certificate
    (each node's folder then holds its certificate, never the CA's key)."""
    files = TlsFiles(directory)
    private_folder(directory)
    if not (files.ca_cert.exists() and files.ca_key.exists()):
        _write_new_ca(files)
    return files


def _public_numbers(cert: x509.Certificate) -> ec.EllipticCurvePublicNumbers | None:
    key = cert.public_key()
    return key.public_numbers() if isinstance(key, ec.EllipticCurvePublicKey) else None
