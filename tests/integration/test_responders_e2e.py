"""Responders end to end: the real broker, collector and InfluxDB, the Twilio stand-in. During
a telemetry flood, an emergency opening texts duty officer, guardian and the nearby responders
in one dispatch; a maintenance opening texts no responder; a false-alarm ack stands them down;
afterwards the collector's log, InfluxDB and the dashboards' JSON hold no responder's name,
phone or position."""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from aedfleet.cli import main
from aedfleet.collector.clock import wall_ms
from aedfleet.influx_query import query
from aedfleet.responders.roster import COLUMNS
from aedfleet.services import LocalServices
from tests.integration.test_alerts_e2e import DUTY, FAST, GUARDIAN, Cabinet
from tests.support.fake_providers import FakeTwilio, twilio_collector_sections
from tests.support.harness import (
    CollectorProcess,
    cabinet_ids,
    count,
    operator_client,
    rows_so_far,
    telemetry_stream,
    wait_for,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]
A, B = "bz-bc-001", "bz-bc-002"
LAT, LON = 37.38, 117.97  # every cabinet of tests.support.harness.inventory_file
PEOPLE = [  # north of the cabinets: 0.001 degree of latitude is 111.195 m
    ("r1", "Wang Fang", "+8613812345001", LAT + 0.00126, "zh"),  # 140 m
    ("r2", "Li Lei", "+8613812345002", LAT + 0.002, "en"),  # 222 m
    ("r3", "Zhao Min", "+8613812345003", LAT + 0.003, "zh"),  # 334 m
    ("r4", "Far Away", "+8613812345004", LAT + 0.02, "zh"),  # 2.2 km
]
PHONES = [phone for _, _, phone, _, _ in PEOPLE[:3]]


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio().running() as fake:
        yield fake


def roster(path: Path) -> Path:
    lines = [",".join(COLUMNS)] + [
        f"{rid},{name},{phone},C-{rid},2030-01-01,{lat:.6f},{LON},24/7,2025-01-01,{language}"
        for rid, name, phone, lat, language in PEOPLE
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


@contextlib.contextmanager
def telemetry_flood(services: LocalServices) -> Iterator[None]:
    """1,000 cabinets' telemetry published as fast as one thread can, while the test runs."""
    client = operator_client(services, f"flood-{time.time_ns()}")
    client.loop_start()
    stop = threading.Event()

    def publish() -> None:
        stream = telemetry_stream(cabinet_ids(1000), 10_000, wall_ms() - 86_400_000)
        while not stop.is_set():
            batch = [client.publish(t, body, qos=1) for t, body in itertools.islice(stream, 200)]
            for info in batch:
                info.wait_for_publish(30)

    flooding = threading.Thread(target=publish, daemon=True)
    flooding.start()
    try:
        yield
    finally:
        stop.set()
        flooding.join(60)
        client.disconnect()
        client.loop_stop()


def to(fake: FakeTwilio, phones: list[str], start: int = 0) -> list[dict[str, str]]:
    return [r for r in fake.delivered()[start:] if r["to"] in phones]


def test_emergency_maintenance_false_alarm_and_nothing_personal_left_behind(
    services: LocalServices, twilio: FakeTwilio, tmp_path: Path
) -> None:
    collector = CollectorProcess(
        services, tmp_path, database="responders_e2e", ids=[A, B],
        **{**twilio_collector_sections(twilio.url, [DUTY]), "alerts": FAST,
           "responders": {"file": str(roster(tmp_path / "responders.csv")),
                          "rest_minutes": 0}},
    )  # fmt: skip
    collector.process.start()
    a, b = Cabinet(services, A), Cabinet(services, B)
    url = f"http://127.0.0.1:{collector.http_port}"
    try:
        a.send("status", '"state":"online",')
        b.send("status", '"state":"online",')
        with telemetry_flood(services):
            wait_for(lambda: count(collector.influx_url, "responders_e2e", "telemetry") > 0, 30,
                     "the flood stored")  # fmt: skip
            a.event("door_open")
            wait_for(lambda: len(twilio.delivered()) >= 5, 15, "duty, guardian, 3 responders")
        first = twilio.delivered()[:5]
        # one dispatch: the first five requests are exactly these
        assert sorted(r["to"] for r in first) == sorted([DUTY, GUARDIAN, *PHONES])
        duty = next(r["body"] for r in first if r["to"] == DUTY)
        assert "3 responders alerted, nearest 140 m." in duty
        english = next(r["body"] for r in first if r["to"] == PHONES[1])
        assert "Cabinet bz-bc-001" in english and "Call 120" in english
        token = ["--token", collector.http_token, "--url", url]
        acked = CliRunner().invoke(main, ["alerts", "ack", A, "opened", *token])
        assert acked.exit_code == 0, acked.output

        # a maintenance opening at B, then an emergency at A's neighbour... B again after it
        # leaves maintenance: its responders prove that the maintenance opening was judged
        # (events are handled in order) and texted none
        b.event("maint_enter")
        b.event("door_open")
        b.event("door_close")
        b.event("maint_exit")
        before = len(twilio.delivered())
        b.event("door_open")
        wait_for(lambda: len(to(twilio, PHONES, before)) >= 3, 15, "B's responders")
        assert all("bz-bc-002" in r["body"] for r in to(twilio, PHONES, before))
        assert len(to(twilio, PHONES)) == 6  # A's three and B's three: none for maintenance

        stood = len(twilio.delivered())
        acked = CliRunner().invoke(main, ["alerts", "ack", B, "opened", "--false-alarm", *token])
        assert acked.exit_code == 0, acked.output
        wait_for(lambda: len(to(twilio, PHONES, stood)) >= 3, 15, "the stand-down")
        downs = [r["body"] for r in to(twilio, PHONES, stood)]
        assert (
            sum("误报" in body for body in downs) == 2
            and sum("false alarm" in body for body in downs) == 1
        )
        recorded = 'SELECT * FROM "responder_dispatch"'
        wait_for(lambda: len(rows_so_far(collector.influx_url, "responders_e2e", recorded)) >= 3,
                 15, "the dispatches recorded")  # fmt: skip
        dispatches = query(collector.influx_url, "responders_e2e", recorded)
        sms = 'SELECT "recipient" FROM "notification" WHERE "rule" = \'responders\''
        # (at least one: notification points of one tag set in the same millisecond are one
        # point in InfluxDB)
        wait_for(lambda: len(rows_so_far(collector.influx_url, "responders_e2e", sms)) >= 1,
                 30, "the responders' SMS recorded, masked")  # fmt: skip
        assert [row["kind"] for row in dispatches] == ["dispatch", "dispatch", "stand_down"]
        assert [row["alerted"] for row in dispatches] == [3, 3, 3]
    finally:
        a.close()
        b.close()
        collector.process.stop()
    assert_nothing_personal(collector, tmp_path)


def assert_nothing_personal(collector: CollectorProcess, tmp_path: Path) -> None:
    """No responder's name, phone or position in the log, InfluxDB or the dashboards."""
    built = tmp_path / "grafana"
    result = CliRunner().invoke(main, ["dashboards", "build", "--out", str(built)])
    assert result.exit_code == 0, result.output
    dashboards = "\n".join(p.read_text() for p in built.rglob("*.json"))
    measurements = [row["name"] for row in
                    query(collector.influx_url, "responders_e2e", "SHOW MEASUREMENTS")]  # fmt: skip
    stored = json.dumps([query(collector.influx_url, "responders_e2e", f'SELECT * FROM "{m}"')
                         for m in measurements])  # fmt: skip
    log = collector.log_path.read_text(encoding="utf-8", errors="replace")
    # the scan is not of nothing: what is there is counts and masked numbers
    assert "responder_dispatch" in measurements
    assert any(f"+86138****{phone[-4:]}" in stored for phone in PHONES)
    assert "responders: 3 alerted for bz-bc-001" in log and '"panels"' in dashboards
    for where, text in (("log", log), ("InfluxDB", stored), ("dashboards", dashboards)):
        for _, name, phone, lat, _ in PEOPLE:
            assert name not in text, where
            assert phone not in text and phone[1:] not in text, where
            assert f"{lat:.6f}" not in text and f"{lat:.5f}" not in text, where
