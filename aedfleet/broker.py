"""Mosquitto configuration for a fleet: one identity per cabinet, an ACL so no cabinet speaks for
another, TLS with a generated CA, and password rotation that touches one cabinet only.

The output folder holds `mosquitto.conf`, `passwd` (PBKDF2-SHA512 hashes in Mosquitto's own
`$7$` format), `acl`, the TLS files, and `credentials.json` (mode 600): the plaintext passwords
that go into each board's config. Nothing here ever logs or prints a password.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from collector.topics import DEFAULT_PREFIX, VERSION_SEGMENT

COLLECTOR_USER: Final = "aedfleet-collector"
OPERATOR_USER: Final = "aedfleet-operator"
MOSQUITTO_ITERATIONS: Final = 101  # what mosquitto_passwd uses for $7$ hashes
PASSWORD_BYTES: Final = 24


class BrokerConfigError(ValueError):
    """The broker configuration cannot be made; the message says why."""


def hash_password(password: str, salt: bytes | None = None) -> str:
    """A password hash as mosquitto_passwd writes it: $7$iterations$salt$pbkdf2-sha512."""
    salt = salt or secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, MOSQUITTO_ITERATIONS)
    encode = base64.b64encode
    return f"$7${MOSQUITTO_ITERATIONS}${encode(salt).decode()}${encode(digest).decode()}"


def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


def acl_text(prefix: str = DEFAULT_PREFIX) -> str:
    root = f"{prefix}/{VERSION_SEGMENT}"
    return "\n".join(
        [
            "# written by aedfleet broker config",
            f"user {COLLECTOR_USER}",
            f"topic read {root}/#",
            f"topic write {root}/+/config",
            "",
            f"user {OPERATOR_USER}",
            f"topic readwrite {root}/#",
            "",
            "# every other user is a cabinet: its own subtree only, and only its own config",
            f"pattern write {root}/%u/event",
            f"pattern write {root}/%u/telemetry",
            f"pattern write {root}/%u/status",
            f"pattern read {root}/%u/config",
            "",
        ]
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


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_tls(directory: Path, hostnames: Iterable[str], *, days: int = 3650) -> TlsFiles:
    """A CA and a server certificate it signed, for the names and addresses clients dial."""
    files = TlsFiles(directory)
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
    names: list[x509.GeneralName] = []
    for host in hostnames:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    server_key = ec.generate_private_key(ec.SECP256R1())
    first = next(iter(hostnames), "localhost")
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, first)]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    _write_private(files.ca_key, _pem_key(ca_key))
    _write_private(files.server_key, _pem_key(server_key))
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.server_cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    return files


class BrokerFiles:
    """The generated folder, and the credentials kept in it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.conf = directory / "mosquitto.conf"
        self.passwd = directory / "passwd"
        self.acl = directory / "acl"
        self.credentials_path = directory / "credentials.json"
        self.tls = TlsFiles(directory)

    def credentials(self) -> dict[str, str]:
        if not self.credentials_path.exists():
            raise BrokerConfigError(f"no credentials in {self.directory}; run broker config")
        stored: dict[str, str] = json.loads(self.credentials_path.read_text())
        return stored

    def password(self, username: str) -> str:
        try:
            return self.credentials()[username]
        except KeyError as error:
            raise BrokerConfigError(f"{username} has no broker account") from error

    def _save(self, credentials: dict[str, str], hashes_by_user: dict[str, str]) -> None:
        temporary = self.credentials_path.with_suffix(".tmp")
        _write_private(temporary, json.dumps(credentials, indent=1, sort_keys=True).encode())
        temporary.rename(self.credentials_path)
        lines = "".join(f"{user}:{hashes_by_user[user]}\n" for user in sorted(hashes_by_user))
        _write_private(self.passwd, lines.encode())

    def _hashes(self) -> dict[str, str]:
        entries = (line.split(":", 1) for line in self.passwd.read_text().splitlines() if line)
        return {user: hashed for user, hashed in entries}


def generate(
    directory: Path,
    cabinet_ids: Iterable[str],
    *,
    prefix: str = DEFAULT_PREFIX,
    tls_port: int = 8883,
    tls_bind: str = "0.0.0.0",
    plain_port: int | None = 1883,
    hostnames: Iterable[str] = ("localhost", "127.0.0.1"),
    persistence_dir: Path | None = None,
    log_file: Path | None = None,
    run_as: str | None = None,
) -> BrokerFiles:
    """Write the whole folder; passwords of users already in it are kept."""
    files = BrokerFiles(directory)
    directory.mkdir(parents=True, exist_ok=True)
    credentials = files.credentials() if files.credentials_path.exists() else {}
    hashed = files._hashes() if files.passwd.exists() else {}
    users = [COLLECTOR_USER, OPERATOR_USER, *cabinet_ids]
    for user in users:
        if user not in credentials:
            credentials[user] = new_password()
            hashed[user] = hash_password(credentials[user])
    files._save(credentials, hashed)
    files.acl.write_text(acl_text(prefix))
    if not files.tls.server_cert.exists():
        make_tls(directory, hostnames)
    conf = [
        "# written by aedfleet broker config",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {files.passwd}",
        f"acl_file {files.acl}",
        "# the collector acknowledges a whole batch at once, after it is stored",
        "max_inflight_messages 0",
        "max_queued_messages 2000000",
        "max_queued_bytes 0",
        f"persistence {'true' if persistence_dir else 'false'}",
    ]
    if run_as is not None:
        conf.append(f"user {run_as}")  # who Mosquitto runs as once started as root
    if persistence_dir is not None:
        conf.append(f"persistence_location {persistence_dir}/")
    if log_file is not None:
        conf += [f"log_dest file {log_file}", "log_type error", "log_type warning",
                 "log_type notice"]  # fmt: skip
    conf += [
        "",
        f"listener {tls_port} {tls_bind}",
        f"cafile {files.tls.ca_cert}",
        f"certfile {files.tls.server_cert}",
        f"keyfile {files.tls.server_key}",
    ]
    if plain_port is not None:
        conf += [
            "",
            "# plain MQTT on loopback only, for local tools",
            f"listener {plain_port} 127.0.0.1",
        ]
    files.conf.write_text("\n".join(conf) + "\n")
    return files


def rotate(directory: Path, username: str) -> None:
    """A new password for one account; every other line of the password file is unchanged.
    Mosquitto rereads the file on SIGHUP."""
    files = BrokerFiles(directory)
    credentials = files.credentials()
    if username not in credentials:
        raise BrokerConfigError(f"{username} has no broker account in {directory}")
    hashed = files._hashes()
    credentials[username] = new_password()
    hashed[username] = hash_password(credentials[username])
    files._save(credentials, hashed)


def reload_broker(pid: int) -> None:
    os.kill(pid, 1)  # SIGHUP: reload password file and ACL
