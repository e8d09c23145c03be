"""`aedfleet doctor` against the harness's Mosquitto and InfluxDB: every line OK; then with
InfluxDB stopped, a wrong broker password, an expired certificate or a clock off, the line
that says what to fix, and exit code 1."""

from __future__ import annotations

import asyncio
import datetime
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from aedfleet.cli import main
from aedfleet.collector.clock import wall_ms
from aedfleet.collector.config import CollectorConfig, RetentionConfig
from aedfleet.collector.influx import InfluxWriter
from aedfleet.collector.retention import ensure_storage
from aedfleet.deploy.sms_check import check_sms
from aedfleet.services import DEFAULT_CABINETS, InfluxDB, LocalServices, Mosquitto
from tests.deploy.fake_ntp import sntp_server
from tests.support.fake_providers import (
    ALIYUN_KEY_ID,
    ALIYUN_SECRET,
    FakeAliyun,
    FakeTwilio,
    twilio_collector_sections,
)
from tests.support.harness import inventory_file

pytestmark = [pytest.mark.services]
CHECKS = ("broker TLS", "collector accounts", "InfluxDB", "SMS provider", "clock", "spool disk",
          "inventory", "cabinets heard from")  # fmt: skip


@pytest.fixture(scope="module")
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio().running() as fake:
        yield fake


@pytest.fixture(scope="module")
def ntp() -> Iterator[str]:
    with sntp_server() as address:
        yield address


def heard_from(influx_url: str, database: str) -> None:
    """Every cabinet of the inventory said something a minute ago; the collector's policies."""

    async def write() -> None:
        async with aiohttp.ClientSession() as session:
            writer = InfluxWriter(session, url=influx_url, database=database)
            await ensure_storage(writer, database, RetentionConfig())
            now = wall_ms() - 60_000
            await writer.write([f"status,cabinet={c},state=online seq=1i {now}"
                                for c in DEFAULT_CABINETS])  # fmt: skip

    asyncio.run(write())


def configure(folder: Path, mosquitto: Mosquitto, influx_url: str, twilio: FakeTwilio,
              database: str) -> tuple[Path, dict[str, str]]:  # fmt: skip
    account = mosquitto.collector_account("doctor")
    sections: dict[str, dict[str, Any]] = {
        "mqtt": {"url": mosquitto.url, "username": account},
        "influx": {"url": influx_url, "database": database},
        "spool": {"dir": str(folder / "spool"), "max_bytes": 1 << 20},
        "fleet": {"inventory": str(inventory_file(folder / "inv.csv", list(DEFAULT_CABINETS)))},
        "http": {"listen": ""},
        **twilio_collector_sections(twilio.url, ["+8613700000001"]),
    }
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "collector.toml"
    config.write_text("\n".join(
        f"[{name}]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in values.items())
        for name, values in sections.items()
    ))  # fmt: skip
    return config, {"AEDFLEET_MQTT_PASSWORD": mosquitto.password(account)}


def doctor(config: Path, env: dict[str, str], mosquitto: Mosquitto, ntp: str) -> Result:
    return CliRunner().invoke(main, ["doctor", "--config", str(config), "--broker-dir",
                                     str(mosquitto.files.directory), "--ntp-server", ntp],
                              env=env)  # fmt: skip


def lines(result: Result) -> dict[str, str]:
    found = {}
    for line in result.output.splitlines():
        verdict, _, rest = line.partition(" ")
        name, _, detail = rest.strip().partition(": ")
        found[name] = f"{verdict} {detail}"
    assert tuple(found) == CHECKS, result.output
    return found


def test_all_ok_against_the_harness(
    services: LocalServices, twilio: FakeTwilio, ntp: str, tmp_path: Path
) -> None:
    heard_from(services.influxdb.url, "doctor_ok")
    config, env = configure(tmp_path, services.mosquitto, services.influxdb.url, twilio,
                            "doctor_ok")  # fmt: skip
    result = doctor(config, env, services.mosquitto, ntp)
    assert result.exit_code == 0, result.output
    assert all(line.startswith("OK") for line in lines(result).values()), result.output
    assert twilio.delivered() == []  # the SMS check sent nothing


def test_a_wrong_password_and_silent_cabinets_say_what_to_fix(
    services: LocalServices, twilio: FakeTwilio, ntp: str, tmp_path: Path
) -> None:
    config, env = configure(tmp_path, services.mosquitto, services.influxdb.url, twilio,
                            "doctor_empty")  # fmt: skip
    result = doctor(config, {**env, "AEDFLEET_MQTT_PASSWORD": "wrong"}, services.mosquitto, ntp)
    assert result.exit_code == 1
    found = lines(result)
    assert found["collector accounts"].startswith("FAIL the broker would refuse aedfleet-")
    assert "set AEDFLEET_MQTT_PASSWORD in aedfleet.env" in found["collector accounts"]
    assert found["InfluxDB"].startswith("FAIL") and "start the collector" in found["InfluxDB"]
    assert found["cabinets heard from"].startswith("FAIL 3 of 3 silent")
    wrong_sms = CliRunner().invoke(main, ["doctor", "--config", str(config), "--ntp-server", ntp],
                                   env={**env, "AEDFLEET_TWILIO_AUTH_TOKEN": "x" * 32})  # fmt: skip
    assert "FAIL SMS provider: Twilio refused account" in wrong_sms.output


def test_influxdb_stopped(
    services: LocalServices, twilio: FakeTwilio, ntp: str, tmp_path: Path
) -> None:
    influx = InfluxDB(tmp_path / "influx")
    config, env = configure(tmp_path, services.mosquitto, influx.url, twilio, "doctor_down")
    result = doctor(config, env, services.mosquitto, ntp)  # never started: as if stopped
    assert result.exit_code == 1
    assert lines(result)["InfluxDB"] == (
        f"FAIL {influx.url} does not answer: systemctl status influxdb (the collector spools "
        "meanwhile)"
    )


def test_a_clock_off_says_to_enable_time_sync(
    services: LocalServices, twilio: FakeTwilio, tmp_path: Path
) -> None:
    heard_from(services.influxdb.url, "doctor_ok")
    config, env = configure(tmp_path, services.mosquitto, services.influxdb.url, twilio,
                            "doctor_ok")  # fmt: skip
    with sntp_server(offset_s=-42.0) as skewed:
        result = doctor(config, env, services.mosquitto, skewed)
    assert result.exit_code == 1
    clock = lines(result)["clock"]
    # the offset as measured: the fake server's own reply delay moves it by milliseconds
    measured = re.fullmatch(r"FAIL this host's clock is (\d+\.\d{3}) s ahead of .*", clock)
    assert measured and abs(float(measured.group(1)) - 42.0) < 0.1, clock
    assert "enable time sync" in clock


def expire_server_certificate(broker: Path) -> None:
    """Re-issue the broker's certificate from its own CA, valid until yesterday."""
    ca_key = serialization.load_pem_private_key((broker / "ca.key").read_bytes(), None)
    ca_cert = x509.load_pem_x509_certificate((broker / "ca.crt").read_bytes())
    old = x509.load_pem_x509_certificate((broker / "server.crt").read_bytes())
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(old.subject)
        .issuer_name(ca_cert.subject)
        .public_key(old.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=30))
        .not_valid_after(now - datetime.timedelta(days=1))
    )
    for extension in old.extensions:
        builder = builder.add_extension(extension.value, extension.critical)
    cert = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    (broker / "server.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def test_an_expired_certificate_says_to_renew_it(
    services: LocalServices, twilio: FakeTwilio, ntp: str, tmp_path: Path
) -> None:
    mosquitto = Mosquitto(tmp_path / "mosquitto")
    expire_server_certificate(mosquitto.files.directory)
    mosquitto.process.start()
    try:
        heard_from(services.influxdb.url, "doctor_ok")
        config, env = configure(tmp_path, mosquitto, services.influxdb.url, twilio, "doctor_ok")
        result = doctor(config, env, mosquitto, ntp)
    finally:
        mosquitto.process.stop()
    assert result.exit_code == 1
    tls = lines(result)["broker TLS"]
    assert tls.startswith(f"FAIL the certificate on 127.0.0.1:{mosquitto.tls_port} expired on ")
    assert "run aedfleet deploy (or broker config) again to renew it" in tls


def test_aliyun_keys_are_checked_by_a_call_that_sends_nothing(tmp_path: Path) -> None:
    with FakeAliyun().running() as aliyun:
        sections = {"notify": {"sms_provider": "aliyun"},
                    "aliyun": {"access_key_id": ALIYUN_KEY_ID, "access_key_secret": ALIYUN_SECRET,
                               "sign_name": "RedCross", "endpoint": aliyun.url}}  # fmt: skip
        good = check_sms(msgspec.convert(sections, CollectorConfig))
        sections["aliyun"]["access_key_secret"] = "wrong"
        bad = check_sms(msgspec.convert(sections, CollectorConfig))
    assert good.ok is True and "signature approved" in good.detail
    assert bad.ok is False and bad.detail.startswith("Aliyun refused: SignatureDoesNotMatch")
    assert aliyun.requests == [] and aliyun.rejected == []  # nothing sent, every call valid
