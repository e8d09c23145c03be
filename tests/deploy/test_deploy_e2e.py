"""The deployment runs as its units say: Mosquitto started with the unit's ExecStart on the
deployed broker folder, the collector with its unit's ExecStart and EnvironmentFile against the
harness's InfluxDB; a cabinet's door opening, sent over TLS with the cabinet's own account,
reaches the SMS stand-in."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from aedfleet.broker.accounts import OPERATOR_USER
from aedfleet.collector.clock import wall_ms
from aedfleet.collector.topics import topic_for
from aedfleet.deploy.layout import COLLECTOR_UNIT, MOSQUITTO_UNIT
from aedfleet.services import LocalServices, ManagedProcess, free_port, mqtt_answers
from tests.deploy.staging import CABINETS, environment_file, exec_start, run_deploy
from tests.support.fake_providers import TWILIO_SID, TWILIO_TOKEN, FakeTwilio
from tests.support.harness import rows_so_far, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]
DUTY = "+8613700000001"


def cabinet_client(broker: Path, cabinet_id: str, tls_port: int) -> mqtt.Client:
    """A cabinet as in the field: its own account (also its client id), over TLS."""
    password = json.loads((broker / "credentials.json").read_text())[cabinet_id]
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cabinet_id)
    client.username_pw_set(cabinet_id, password)
    client.tls_set(ca_certs=str(broker / "ca.crt"))
    client.connect("127.0.0.1", tls_port)
    client.loop_start()
    return client


def test_units_run_as_written_and_a_door_opening_reaches_the_sms_provider(
    services: LocalServices, tmp_path: Path
) -> None:
    root = tmp_path / "server"
    tls_port, plain_port, http_port = free_port(), free_port(), free_port()
    out = tmp_path / "deploy"
    layout = run_deploy(
        root, "--sms-provider", "twilio", "--duty-officer", DUTY,
        "--influx-url", services.influxdb.url, "--influx-database", "deploy_e2e",
        tls_port=tls_port, plain_port=plain_port, http_port=http_port, out=out,
    )  # fmt: skip
    # README.txt's step 3, with the staging root for /
    assert "cp -a etc/. /etc/" in (out / "README.txt").read_text()
    (root / "etc").mkdir(parents=True)
    subprocess.run(["cp", "-a", "etc/.", f"{root}/etc/"], cwd=out, check=True)
    # what systemd does before ExecStart: StateDirectory=
    for folder in (layout.state, layout.mosquitto_state):
        folder.mkdir(parents=True, mode=0o700)
    with FakeTwilio().running() as twilio:
        # the operator's one edit: the provider's keys (and here, where the provider is)
        with layout.environment.open("a") as env:
            env.write(f"AEDFLEET_TWILIO_ACCOUNT_SID={TWILIO_SID}\n"
                      f"AEDFLEET_TWILIO_AUTH_TOKEN={TWILIO_TOKEN}\n"
                      "AEDFLEET_TWILIO_SENDER=+15005550006\n"
                      f"AEDFLEET_TWILIO_BASE_URL={twilio.url}\n")  # fmt: skip
        operator = json.loads((layout.broker / "credentials.json").read_text())[OPERATOR_USER]
        broker = ManagedProcess(
            "deployed mosquitto",
            exec_start(layout.units / MOSQUITTO_UNIT),
            tmp_path / "mosquitto.out",
            lambda: mqtt_answers("127.0.0.1", plain_port, username=OPERATOR_USER,
                                 password=operator),
        )  # fmt: skip

        def collector_up() -> bool:
            try:
                url = f"http://127.0.0.1:{http_port}/healthz"
                return bool(httpx.get(url, timeout=2).json()["mqtt_subscribed"])
            except (httpx.HTTPError, ValueError):
                return False

        collector = ManagedProcess(
            "deployed collector",
            exec_start(layout.units / COLLECTOR_UNIT),
            tmp_path / "collector.out",
            collector_up,
            env=environment_file(layout.environment),
        )
        broker.start()
        cabinet = None
        try:
            collector.start(timeout_s=60)
            cabinet = cabinet_client(layout.broker, CABINETS[0], tls_port)
            now = wall_ms()
            for seq, (kind, body) in enumerate(
                [("status", '"state":"online","fw":"1.0.0"'), ("event", '"ev":"door_open"')], 1
            ):
                message = (f'{{"v":1,"id":"{CABINETS[0]}",{body},"seq":{seq},'
                           f'"ts":{now + seq},"sync":true}}')  # fmt: skip
                cabinet.publish(topic_for(CABINETS[0], kind), message, qos=1).wait_for_publish(10)
            wait_for(lambda: any(r["to"] == DUTY for r in twilio.delivered()), 30,
                     "the door opening's SMS to the duty officer")  # fmt: skip
            assert twilio.rejected == []
            texts = [r["body"] for r in twilio.delivered() if r["to"] == DUTY]
            assert "door opened" in texts[0] and CABINETS[0] in texts[0]
            # the collector made the retention policies at start (docs/storage.md)
            show = 'SHOW RETENTION POLICIES ON "deploy_e2e"'

            def policies() -> set[str]:
                return {r["name"] for r in rows_so_far(services.influxdb.url, "deploy_e2e", show)}

            wait_for(lambda: {"long", "forever"} <= policies(), 30, "retention policies")
        finally:
            if cabinet is not None:
                cabinet.disconnect()
                cabinet.loop_stop()
            collector.stop()
            broker.stop()
    log = (tmp_path / "collector.out").read_text()
    assert environment_file(layout.environment)["AEDFLEET_MQTT_PASSWORD"] not in log
    # --log-format logfmt, as ExecStart says: every line a record
    assert all(line.startswith("ts=") for line in log.splitlines()), log
