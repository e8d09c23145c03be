"""`aedfleet doctor`: checks a running deployment, one line per check, OK or what to fix.

Each check is a function returning a Check; nothing here changes anything. The collector's
accounts are checked against the broker's password file, not by logging in: the broker takes
the account as the client id (use_username_as_clientid), so a login would take over the
running collector's connection. The running collector's own /healthz says whether it is
logged in.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import hmac
import shutil
import socket
import ssl
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final, NamedTuple
from urllib.parse import urlsplit

import aiohttp
import httpx
from cryptography import x509

from aedfleet.broker.accounts import collector_accounts
from aedfleet.broker.tls import RENEW_DAYS
from aedfleet.collector.config import CollectorConfig, ConfigError
from aedfleet.collector.influx import InfluxUnavailableError, InfluxWriter
from aedfleet.collector.inventory import InventoryError, load_inventory
from aedfleet.collector.retention import plan

TIMEOUT_S: Final = 5.0
MAX_CLOCK_OFFSET_S: Final = 1.0
SEEN_WITHIN: Final = "1d"
NTP_EPOCH_OFFSET: Final = 2_208_988_800  # seconds from 1900 (NTP) to 1970 (Unix)


class Check(NamedTuple):
    name: str
    ok: bool | None  # None: not applicable here, not a failure
    detail: str

    def line(self) -> str:
        verdict = {True: "OK  ", False: "FAIL", None: "SKIP"}[self.ok]
        return f"{verdict} {self.name}: {self.detail}"


class Deployment(NamedTuple):
    config: CollectorConfig
    broker_dir: Path | None  # the folder `broker config`/`deploy` wrote, when on this host
    ntp_server: str  # host[:port]
    now: Callable[[], float] = time.time


# --- the broker ---------------------------------------------------------------------------


def tls_listener(conf: Path) -> tuple[str, int] | None:
    """The listener of mosquitto.conf that has a certificate: (address to reach it, port)."""
    found: tuple[str, int] | None = None
    current: tuple[str, int] | None = None
    for raw in conf.read_text().splitlines():
        words = raw.split()
        if words[:1] == ["listener"] and len(words) >= 2:
            bind = words[2] if len(words) > 2 else "0.0.0.0"
            current = ("127.0.0.1" if bind in ("0.0.0.0", "::") else bind, int(words[1]))
        elif words[:1] == ["certfile"] and current is not None:
            found = current
    return found


def _first_name(cert: x509.Certificate) -> str:
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ""
    dns = names.get_values_for_type(x509.DNSName)
    return dns[0] if dns else str(next(iter(names.get_values_for_type(x509.IPAddress)), ""))


def check_broker_tls(deployment: Deployment) -> Check:
    name = "broker TLS"
    mqtt = deployment.config.mqtt
    if mqtt.url.startswith("mqtts://"):
        parts = urlsplit(mqtt.url)
        host, port, ca = parts.hostname or "", parts.port or 8883, Path(mqtt.ca_file)
        server_name = host
    elif deployment.broker_dir is not None and (deployment.broker_dir / "mosquitto.conf").exists():
        listener = tls_listener(deployment.broker_dir / "mosquitto.conf")
        if listener is None:
            return Check(name, False, "mosquitto.conf has no TLS listener: run aedfleet deploy")
        host, port = listener
        ca = deployment.broker_dir / "ca.crt"
        own = x509.load_pem_x509_certificate((deployment.broker_dir / "server.crt").read_bytes())
        server_name = _first_name(own) or host
    else:
        return Check(name, None, "no mqtts:// URL and no broker folder on this host")
    context = ssl.create_default_context(cafile=str(ca))
    try:
        with (
            socket.create_connection((host, port), timeout=TIMEOUT_S) as raw,
            context.wrap_socket(raw, server_hostname=server_name) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except ssl.SSLCertVerificationError as error:
        served = _served_certificate(host, port)
        if served is not None and served.not_valid_after_utc < _utc(deployment.now()):
            return Check(name, False, f"the certificate on {host}:{port} expired on "
                         f"{served.not_valid_after_utc:%Y-%m-%d}: run aedfleet deploy (or "
                         "broker config) again to renew it, then restart the broker")  # fmt: skip
        return Check(name, False, f"{host}:{port} certificate not accepted: "
                     f"{error.verify_message}; check {ca} and the --hostname names")  # fmt: skip
    except (OSError, ssl.SSLError) as error:
        return Check(name, False, f"{host}:{port} unreachable ({error}): is "
                     "aedfleet-mosquitto running? systemctl status aedfleet-mosquitto")  # fmt: skip
    cert = x509.load_der_x509_certificate(der or b"")
    days = (cert.not_valid_after_utc - _utc(deployment.now())).days
    if days < RENEW_DAYS:
        return Check(name, False, f"the certificate on {host}:{port} expires in {days} days: "
                     "run aedfleet deploy (or broker config) again to renew it")  # fmt: skip
    return Check(name, True, f"{host}:{port} as {server_name}, certificate valid {days} days")


def _utc(epoch_s: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch_s, datetime.UTC)


def _served_certificate(host: str, port: int) -> x509.Certificate | None:
    """The certificate served, unverified: only to say why verification failed."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host, port), timeout=TIMEOUT_S) as raw,
            context.wrap_socket(raw) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None
    return x509.load_der_x509_certificate(der) if der else None


def password_matches(password: str, hashed: str) -> bool:
    """Check against a mosquitto_passwd `$7$iterations$salt$pbkdf2-sha512` hash."""
    parts = hashed.split("$")
    if len(parts) != 5 or parts[1] != "7" or not parts[2].isdigit():
        return False
    salt, digest = base64.b64decode(parts[3]), base64.b64decode(parts[4])
    mine = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, int(parts[2]))
    return hmac.compare_digest(mine, digest)


def check_accounts(deployment: Deployment) -> Check:
    name = "collector accounts"
    mqtt = deployment.config.mqtt
    accounts = collector_accounts(mqtt.username) if mqtt.username else ()
    health = _collector_health(deployment.config.http.listen)
    running = "" if health is None else (
        "; the running collector is logged in" if health.get("mqtt_connected")
        else "; the running collector is NOT connected to the broker"
    )  # fmt: skip
    passwd = deployment.broker_dir / "passwd" if deployment.broker_dir else None
    if passwd is None or not passwd.exists():
        if health is None:
            return Check(name, None, "no broker folder here and no collector answering")
        return Check(name, bool(health.get("mqtt_connected")), running.removeprefix("; "))
    hashes = dict(line.split(":", 1) for line in passwd.read_text().splitlines() if ":" in line)
    wrong = [a for a in accounts if not password_matches(mqtt.password, hashes.get(a, ""))]
    if not accounts or wrong:
        who = ", ".join(wrong) or "[mqtt] username is empty"
        return Check(name, False, f"the broker would refuse {who}: set AEDFLEET_MQTT_PASSWORD "
                     f"in aedfleet.env to the password in {passwd.parent}/credentials.json, "
                     "then systemctl restart aedfleet-collector")  # fmt: skip
    if health is not None and not health.get("mqtt_connected"):
        return Check(name, False, f"{', '.join(accounts)} match the password file{running}")
    return Check(name, True, f"{', '.join(accounts)} match the broker's password file{running}")


def _collector_health(listen: str) -> dict[str, object] | None:
    if not listen:
        return None
    try:
        answer = httpx.get(f"http://{listen}/healthz", timeout=TIMEOUT_S).json()
    except (httpx.HTTPError, ValueError):
        return None
    return answer if isinstance(answer, dict) else None


# --- InfluxDB -----------------------------------------------------------------------------


async def _influx(deployment: Deployment) -> tuple[Check, set[str] | None]:
    """InfluxDB's check, and the cabinets heard from within a day (None: unknown)."""
    influx = deployment.config.influx
    name = "InfluxDB"
    async with aiohttp.ClientSession() as session:
        writer = InfluxWriter(session, url=influx.url, database=influx.database,
                              username=influx.username, password=influx.password,
                              timeout_s=TIMEOUT_S)  # fmt: skip
        if not await writer.ping():
            return Check(name, False, f"{influx.url} does not answer: systemctl status "
                         "influxdb (the collector spools meanwhile)"), None  # fmt: skip
        try:
            missing = await plan(writer, influx.database, deployment.config.retention)
            seen = await _seen(writer)
        except (InfluxUnavailableError, ConfigError) as error:
            return Check(name, False, f"{influx.url}: {error}"), None
    if deployment.config.retention.enabled and missing:
        detail = (f"{len(missing)} retention policies or continuous queries missing "
                  f"({missing[0]}...): start the collector, it makes them")  # fmt: skip
        return Check(name, False, detail), seen
    return Check(name, True, f"{influx.url} database {influx.database}, retention policies "
                 "and continuous queries present"), seen  # fmt: skip


async def _seen(writer: InfluxWriter) -> set[str]:
    document = await writer.query(
        f'SELECT last("seq") FROM "telemetry", "status", "event" WHERE time > now() - '
        f'{SEEN_WITHIN} GROUP BY "cabinet"'
    )
    return {series.get("tags", {}).get("cabinet", "")
            for result in document.get("results", [])
            for series in result.get("series", [])}  # fmt: skip


# --- this host ----------------------------------------------------------------------------


def sntp_offset(server: str, now: Callable[[], float] = time.time) -> float:
    """The NTP server's time minus this host's, in seconds (RFC 4330 SNTP, client mode)."""
    host, _, port = server.partition(":")
    request = b"\x23" + b"\x00" * 47  # LI 0, version 4, mode 3 (client)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(TIMEOUT_S)
        sent = now()
        sock.sendto(request, (host, int(port or 123)))
        answer, _ = sock.recvfrom(512)
        received = now()
    if len(answer) < 48:
        raise OSError("short NTP answer")

    def stamp(offset: int) -> float:
        seconds, fraction = struct.unpack("!II", answer[offset : offset + 8])
        return float(seconds - NTP_EPOCH_OFFSET + fraction / 2**32)

    server_received, server_sent = stamp(32), stamp(40)
    return ((server_received - sent) + (server_sent - received)) / 2


def check_clock(deployment: Deployment) -> Check:
    name = "clock"
    try:
        offset = sntp_offset(deployment.ntp_server, deployment.now)
    except OSError as error:
        return Check(name, False, f"no answer from NTP server {deployment.ntp_server} "
                     f"({error}): give --ntp-server, or check the firewall")  # fmt: skip
    if abs(offset) > MAX_CLOCK_OFFSET_S:
        side = "ahead of" if offset < 0 else "behind"
        return Check(name, False, f"this host's clock is {abs(offset):.3f} s {side} "
                     f"{deployment.ntp_server}: enable time sync (apt-get install "
                     "systemd-timesyncd, or chrony)")  # fmt: skip
    return Check(name, True, f"{offset:+.3f} s from {deployment.ntp_server}")


def check_disk(deployment: Deployment) -> Check:
    spool = deployment.config.spool
    folder = Path(spool.dir)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    need = spool.max_bytes
    if free < need:
        detail = (f"{free // 2**20} MiB free at {folder}, the spool may take "
                  f"{need // 2**20} MiB: free space or lower [spool] max_bytes")  # fmt: skip
        return Check("spool disk", False, detail)
    return Check("spool disk", True, f"{free // 2**20} MiB free for a spool of at most "
                 f"{need // 2**20} MiB")  # fmt: skip


def check_inventory(deployment: Deployment) -> tuple[Check, set[str] | None]:
    path = Path(deployment.config.fleet.inventory)
    try:
        cabinets = set(load_inventory(path))
    except (InventoryError, OSError) as error:
        return Check("inventory", False, f"{error}"), None
    return Check("inventory", True, f"{path}: {len(cabinets)} cabinets"), cabinets


def check_seen(cabinets: set[str] | None, seen: set[str] | None) -> Check:
    name = "cabinets heard from"
    if cabinets is None or seen is None:
        return Check(name, None, "needs the inventory and InfluxDB")
    silent = sorted(cabinets - seen)
    if silent:
        shown = ", ".join(silent[:10]) + (" ..." if len(silent) > 10 else "")
        return Check(name, False, f"{len(silent)} of {len(cabinets)} silent for a day: {shown} "
                     "(power, SIM or broker account: aedfleet/collector/README.md)")  # fmt: skip
    return Check(name, True, f"all {len(cabinets)} within the last day")


def run_checks(deployment: Deployment, sms: Callable[[CollectorConfig], Check]) -> list[Check]:
    influx, seen = asyncio.run(_influx(deployment))
    inventory, cabinets = check_inventory(deployment)
    return [
        check_broker_tls(deployment),
        check_accounts(deployment),
        influx,
        sms(deployment.config),
        check_clock(deployment),
        check_disk(deployment),
        inventory,
        check_seen(cabinets, seen),
    ]
