"""Mosquitto configuration for a fleet: one identity per cabinet, an ACL so no cabinet speaks for
another, TLS with a generated (or an external) CA, and password rotation that touches one
account only.

The output folder holds `mosquitto.conf`, `passwd` (PBKDF2-SHA512 hashes in Mosquitto's own
`$7$` format), `acl`, the TLS files, and `credentials.json`: the plaintext passwords that go
into each board's config. Every secret file is created with its final mode (never written
world-readable first) in a folder only its owner (and the broker's group) can enter. Nothing
here ever logs or prints a password. docs/security.md has the threat model.
"""

from __future__ import annotations

import base64
import datetime
import grp
import hashlib
import ipaddress
import json
import os
import pwd
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from collector.config import EVENTS_SUFFIX
from collector.protocol import MAX_PAYLOAD_BYTES, RESERVED_ID_PREFIX
from collector.topics import DEFAULT_PREFIX, VERSION_SEGMENT

COLLECTOR_USER: Final = "aedfleet-collector"
OPERATOR_USER: Final = "aedfleet-operator"
MOSQUITTO_ITERATIONS: Final = 101  # what mosquitto_passwd uses for $7$ hashes
PASSWORD_BYTES: Final = 24
# the collector's backlog while it restarts: max_queued_messages of messages up to 512 bytes
# (telemetry is about 250), e.g. 10,000 cabinets' telemetry for 55 hours at one per 300 s
BACKLOG_MESSAGES: Final = 2_000_000
BACKLOG_BYTES: Final = BACKLOG_MESSAGES * 512
CA_DAYS: Final = 3650
SERVER_DAYS: Final = 730  # `broker config` issues a new one once fewer than RENEW_DAYS remain
RENEW_DAYS: Final = 60
# TLS 1.2 with forward secrecy and AEAD only (no CBC, no SHA-1); TLS 1.3 suites are all AEAD
TLS_CIPHERS: Final = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305"
)


# a listener's setting: the client id is the account, so no account can take over another's
# session (nor disconnect it by connecting with its client id)
BIND_CLIENT_ID: Final = "use_username_as_clientid true"


class BrokerConfigError(ValueError):
    """The broker configuration cannot be made; the message says why."""


def collector_accounts(name: str = COLLECTOR_USER) -> tuple[str, str]:
    """A collector's two accounts: telemetry, and events and status. The broker takes each
    account's name as its client id, so each connection needs one."""
    return name, name + EVENTS_SUFFIX


def max_packet_bytes(prefix: str = DEFAULT_PREFIX) -> int:
    """The largest MQTT packet a fleet needs: a PUBLISH (or a CONNECT with its will) of the
    protocol's largest payload on the longest topic, with header, lengths and credentials."""
    longest_topic = len(f"{prefix}/{VERSION_SEGMENT}/") + 32 + len("/telemetry")
    credentials = 2 * (2 + 64)  # user name and password, each with its length
    return 5 + 2 + longest_topic + 2 + MAX_PAYLOAD_BYTES + 64 + credentials


def hash_password(password: str, salt: bytes | None = None) -> str:
    """A password hash as mosquitto_passwd writes it: $7$iterations$salt$pbkdf2-sha512."""
    salt = salt or secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, MOSQUITTO_ITERATIONS)
    encode = base64.b64encode
    return f"$7${MOSQUITTO_ITERATIONS}${encode(salt).decode()}${encode(digest).decode()}"


def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


def acl_text(
    prefix: str = DEFAULT_PREFIX,
    collectors: Sequence[str] = (COLLECTOR_USER,),
    fleet_writers: Sequence[str] = (),
) -> str:
    """Least privilege: collectors only read what cabinets send; the operator reads all and
    writes configs; nobody but a cabinet writes under its own event, telemetry and status."""
    root = f"{prefix}/{VERSION_SEGMENT}"
    lines = ["# written by aedfleet broker config", ""]
    for collector in collectors:
        for account in collector_accounts(collector):
            lines += [f"user {account}"]
            lines += [f"topic read {root}/+/{kind}" for kind in ("event", "telemetry", "status")]
            lines += [""]
    lines += [f"user {OPERATOR_USER}", f"topic read {root}/#", f"topic write {root}/+/config", ""]
    for writer in fleet_writers:  # a simulator's or a test harness's; never a real fleet's
        lines += [f"user {writer}", f"topic readwrite {root}/#", ""]
    lines += [
        "# every other user is a cabinet: its own subtree only, and only its own config",
        f"pattern write {root}/%u/event",
        f"pattern write {root}/%u/telemetry",
        f"pattern write {root}/%u/status",
        f"pattern read {root}/%u/config",
        "",
    ]
    return "\n".join(lines)


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


def write_private(path: Path, data: bytes, *, group: int | None = None) -> None:
    """Write a secret file that is never readable by others, not even for a moment: created
    under a temporary name with its final mode (0600, or 0640 for the broker's group), then
    renamed over the old one."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    mode = 0o600 if group is None else 0o640
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        if group is not None:
            os.fchown(descriptor, -1, group)
        os.fchmod(descriptor, mode)  # the umask may have taken bits away, never added any
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    temporary.replace(path)


def private_folder(directory: Path, *, group: int | None = None) -> None:
    """A folder only its owner (and with `group`, the broker's group, read-only) may enter:
    made so, or made so again when `broker config` wrote it before; any other folder that
    exists already is left as it is (the files in it are private anyway)."""
    ours = not directory.exists() or (directory / "credentials.json").exists()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not ours:
        return
    if group is not None:
        os.chown(directory, -1, group)
    directory.chmod(0o700 if group is None else 0o750)


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


def _server_cert(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    server_key: ec.EllipticCurvePrivateKey,
    hostnames: Sequence[str],
    days: int,
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
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
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
    files: TlsFiles, ca_cert: x509.Certificate, hostnames: Sequence[str]
) -> bool:
    """The server certificate names exactly these hosts, was signed by this CA, and is not
    about to expire."""
    if not files.server_cert.exists() or not files.server_key.exists():
        return False
    cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        cert.verify_directly_issued_by(ca_cert)
    except (x509.ExtensionNotFound, InvalidSignature, ValueError, TypeError):
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
) -> TlsFiles:
    """The CA (an external one when `ca_cert` and `ca_key` are given: its key is never copied
    here) and a server certificate for exactly `hostnames`, issued again when they change,
    the CA changes or it is about to expire."""
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
        if _server_cert_current(files, signer, hostnames):
            return files
        raise BrokerConfigError(
            "the server certificate must be issued again; give --ca-cert and --ca-key"
        )
    else:
        new_cert, signer_key = _new_ca(CA_DAYS)
        pem = new_cert.public_bytes(serialization.Encoding.PEM)
        write_private(files.ca_key, _pem_key(signer_key))
        files.ca_cert.write_bytes(pem)
    signer = x509.load_pem_x509_certificate(pem)
    if signer_key.public_key().public_numbers() != _public_numbers(signer):
        raise BrokerConfigError("the CA key does not belong to the CA certificate")
    if not _server_cert_current(files, signer, hostnames):
        server_key = ec.generate_private_key(ec.SECP256R1())
        cert = _server_cert(signer, signer_key, server_key, hostnames, SERVER_DAYS)
        write_private(files.server_key, _pem_key(server_key), group=group)
        files.server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    elif group is not None:
        os.chown(files.server_key, -1, group)
        files.server_key.chmod(0o640)
    return files


def _public_numbers(cert: x509.Certificate) -> ec.EllipticCurvePublicNumbers | None:
    key = cert.public_key()
    return key.public_numbers() if isinstance(key, ec.EllipticCurvePublicKey) else None


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

    def _save(
        self, credentials: dict[str, str], hashes_by_user: dict[str, str], group: int | None
    ) -> None:
        text = json.dumps(credentials, indent=1, sort_keys=True)
        write_private(self.credentials_path, text.encode())  # never the broker's to read
        lines = "".join(f"{user}:{hashes_by_user[user]}\n" for user in sorted(hashes_by_user))
        write_private(self.passwd, lines.encode(), group=group)

    def _hashes(self) -> dict[str, str]:
        entries = (line.split(":", 1) for line in self.passwd.read_text().splitlines() if line)
        return {user: hashed for user, hashed in entries}


def _group_id(group: str | None, run_as: str | None) -> int | None:
    """The broker's group: `group`, or else the primary group of the user it runs as."""
    if group is None and run_as is not None:
        try:
            return pwd.getpwnam(run_as).pw_gid
        except KeyError as error:
            raise BrokerConfigError(f"no user {run_as!r} on this host") from error
    if group is None:
        return None
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError as error:
        raise BrokerConfigError(f"no group {group!r} on this host") from error


def _check_names(cabinet_ids: Sequence[str], collectors: Sequence[str]) -> None:
    for cabinet_id in cabinet_ids:
        if cabinet_id.startswith(RESERVED_ID_PREFIX):
            raise BrokerConfigError(
                f"cabinet id {cabinet_id!r}: names starting {RESERVED_ID_PREFIX!r} are reserved "
                "for the service accounts"
            )
    for collector in collectors:
        if not collector.startswith(RESERVED_ID_PREFIX):
            raise BrokerConfigError(f"a collector account must start {RESERVED_ID_PREFIX!r}")


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
    group: str | None = None,
    collectors: Iterable[str] = (COLLECTOR_USER,),
    fleet_writers: Iterable[str] = (),
    ca_cert: Path | None = None,
    ca_key: Path | None = None,
) -> BrokerFiles:
    """Write the whole folder; passwords of users already in it are kept.

    `run_as`: the user Mosquitto drops to when started as root; `group` (by default that
    user's primary group): the files the broker reads are made readable by that group, every
    other secret by the owner only. `fleet_writers` may publish as any cabinet: for a
    simulator or a test harness only.
    """
    cabinets, collector_names = list(cabinet_ids), list(collectors)
    writers = list(fleet_writers)
    _check_names(cabinets, collector_names)
    gid = _group_id(group, run_as)
    files = BrokerFiles(directory)
    private_folder(directory, group=gid)
    credentials = files.credentials() if files.credentials_path.exists() else {}
    hashed = files._hashes() if files.passwd.exists() else {}
    for collector in collector_names:
        telemetry, events = collector_accounts(collector)
        if telemetry not in credentials or events not in credentials:
            # one secret for the collector, one account per connection
            credentials[telemetry] = credentials[events] = new_password()
        for account in (telemetry, events):
            hashed[account] = hash_password(credentials[account])
    for user in [OPERATOR_USER, *writers, *cabinets]:
        if user not in credentials:
            credentials[user] = new_password()
            hashed[user] = hash_password(credentials[user])
    files._save(credentials, hashed, gid)
    write_private(files.acl, acl_text(prefix, collector_names, writers).encode(), group=gid)
    ensure_tls(directory, list(hostnames), ca_cert=ca_cert, ca_key=ca_key, group=gid)
    conf = [
        "# written by aedfleet broker config",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {files.passwd}",
        f"acl_file {files.acl}",
        "# the protocol's largest message on its longest topic; anything larger disconnects",
        f"max_packet_size {max_packet_bytes(prefix)}",
        "# the collector acknowledges a whole batch at once, after it is stored",
        "max_inflight_messages 0",
        f"max_queued_messages {BACKLOG_MESSAGES}",
        f"max_queued_bytes {BACKLOG_BYTES}",
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
        "# the only network listener: cabinets and remote tools, over TLS",
        f"listener {tls_port} {tls_bind}",
        BIND_CLIENT_ID,
        f"cafile {files.tls.ca_cert}",
        f"certfile {files.tls.server_cert}",
        f"keyfile {files.tls.server_key}",
        "tls_version tlsv1.2",
        f"ciphers {TLS_CIPHERS}",
    ]
    if plain_port is not None:
        conf += [
            "",
            "# plain MQTT on loopback only, for the collector and local tools",
            f"listener {plain_port} 127.0.0.1",
            BIND_CLIENT_ID,
        ]
    write_private(files.conf, ("\n".join(conf) + "\n").encode(), group=gid)
    return files


def rotate(directory: Path, username: str) -> None:
    """A new password for one account (both accounts of a collector); every other line of the
    password file is unchanged. Mosquitto rereads the file on SIGHUP."""
    files = BrokerFiles(directory)
    credentials = files.credentials()
    if username not in credentials:
        raise BrokerConfigError(f"{username} has no broker account in {directory}")
    hashed = files._hashes()
    accounts = [username]
    base = username.removesuffix(EVENTS_SUFFIX)
    if base.startswith(RESERVED_ID_PREFIX) and set(collector_accounts(base)) <= set(credentials):
        accounts = list(collector_accounts(base))
    password = new_password()
    for account in accounts:
        credentials[account] = password
        hashed[account] = hash_password(password)
    stat = files.passwd.stat()
    group = stat.st_gid if stat.st_mode & 0o040 else None
    files._save(credentials, hashed, group)


def reload_broker(pid: int) -> None:
    os.kill(pid, 1)  # SIGHUP: reload password file and ACL
