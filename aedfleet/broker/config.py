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

import grp
import json
import os
import pwd
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final

from aedfleet.broker.accounts import (
    COLLECTOR_USER,
    OPERATOR_USER,
    acl_text,
    collector_accounts,
    hash_password,
    new_password,
)
from aedfleet.broker.errors import BrokerConfigError
from aedfleet.broker.files import private_folder, write_private
from aedfleet.broker.tls import TLS_CIPHERS, TlsFiles, ensure_tls
from aedfleet.collector.config import EVENTS_SUFFIX
from aedfleet.collector.protocol import MAX_PAYLOAD_BYTES, RESERVED_ID_PREFIX
from aedfleet.collector.topics import DEFAULT_PREFIX, VERSION_SEGMENT

# the collector's backlog while it restarts: max_queued_messages of messages up to 512 bytes
# (telemetry is about 250), e.g. 10,000 cabinets' telemetry for 55 hours at one per 300 s
BACKLOG_MESSAGES: Final = 2_000_000
BACKLOG_BYTES: Final = BACKLOG_MESSAGES * 512


# a listener's setting: the client id is the account, so no account can take over another's
# session (nor disconnect it by connecting with its client id)
BIND_CLIENT_ID: Final = "use_username_as_clientid true"


def max_packet_bytes(prefix: str = DEFAULT_PREFIX) -> int:
    """The largest MQTT packet a fleet needs: a PUBLISH (or a CONNECT with its will) of the
    protocol's largest payload on the longest topic, with header, lengths and credentials."""
    longest_topic = len(f"{prefix}/{VERSION_SEGMENT}/") + 32 + len("/telemetry")
    credentials = 2 * (2 + 64)  # user name and password, each with its length
    return 5 + 2 + longest_topic + 2 + MAX_PAYLOAD_BYTES + 64 + credentials


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


def with_passwords(
    credentials: Mapping[str, str], collectors: Iterable[str], users: Iterable[str]
) -> dict[str, str]:
    """`credentials` with a new password for each account that has none: one secret for both
    of a collector's accounts (one per connection), one for every other user."""
    out = dict(credentials)
    for collector in collectors:
        telemetry, events = collector_accounts(collector)
        if telemetry not in out or events not in out:
            out[telemetry] = out[events] = new_password()
    for user in users:
        if user not in out:
            out[user] = new_password()
    return out


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
    before = files.credentials() if files.credentials_path.exists() else {}
    credentials = with_passwords(before, collector_names, [OPERATOR_USER, *writers, *cabinets])
    hashed = files._hashes() if files.passwd.exists() else {}
    for user, password in credentials.items():
        if user not in hashed or before.get(user) != password:
            hashed[user] = hash_password(password)
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
