"""The broker's accounts: the collectors', the operator's and one per cabinet, their
mosquitto_passwd hashes and the least-privilege ACL."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Sequence
from typing import Final

from aedfleet.collector.config import EVENTS_SUFFIX
from aedfleet.collector.topics import DEFAULT_PREFIX, VERSION_SEGMENT

COLLECTOR_USER: Final = "aedfleet-collector"
OPERATOR_USER: Final = "aedfleet-operator"
MOSQUITTO_ITERATIONS: Final = 101  # what mosquitto_passwd uses for $7$ hashes
PASSWORD_BYTES: Final = 24


def collector_accounts(name: str = COLLECTOR_USER) -> tuple[str, str]:
    """A collector's two accounts: telemetry, and events and status. The broker takes each
    account's name as its client id, so each connection needs one."""
    return name, name + EVENTS_SUFFIX


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
    writes configs and releases; nobody but a cabinet writes under its own event, telemetry
    and status; every cabinet may read the releases under fw/."""
    root = f"{prefix}/{VERSION_SEGMENT}"
    lines = ["# written by aedfleet broker config", ""]
    for collector in collectors:
        for account in collector_accounts(collector):
            lines += [f"user {account}"]
            lines += [f"topic read {root}/+/{kind}" for kind in ("event", "telemetry", "status")]
            lines += [""]
    lines += [f"user {OPERATOR_USER}", f"topic read {root}/#", f"topic write {root}/+/config"]
    lines += [f"topic write {root}/fw/#", ""]  # releases, as retained chunks (docs/ota.md)
    for writer in fleet_writers:  # a simulator's or a test harness's; never a real fleet's
        lines += [f"user {writer}", f"topic readwrite {root}/#", ""]
    lines += [
        "# every other user is a cabinet: its own subtree only, and only its own config",
        f"pattern write {root}/%u/event",
        f"pattern write {root}/%u/telemetry",
        f"pattern write {root}/%u/status",
        f"pattern read {root}/%u/config",
        "# releases: readable by every cabinet, trusted only once their Ed25519 signature is",
        f"pattern read {root}/fw/#",
        "",
    ]
    return "\n".join(lines)
