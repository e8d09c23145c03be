"""The alerting shell dispatches responders: with an emergency opening, in the same dispatch as
the duty officers' SMS and queued before them; none for a maintenance opening; a stand-down only
after a false-alarm acknowledgement; recorded in InfluxDB as counts and distances only."""

from __future__ import annotations

import datetime
from pathlib import Path

import msgspec
import pytest

from aedfleet.alerts.shell import Alerting
from aedfleet.collector import protocol as p
from aedfleet.collector.config import CollectorConfig, ConfigError
from aedfleet.collector.enrich import PointEncoder
from aedfleet.collector.inventory import Cabinet
from aedfleet.notify.messages import Notification
from aedfleet.responders.roster import COLUMNS
from tests.alerts.test_engine import CAB, T0, telemetry

DUTY = "+8613900000001"
GUARDIAN = "+8613900000002"
LAT, LON = 37.38, 118.0
# north of the cabinet: 0.001 degree of latitude is 111.195 m
PEOPLE = [
    ("r1", "Wang Fang", "+8613812345001", 1.26, "zh"),  # 140.1 m
    ("r2", "Li Lei", "+8613812345002", 2.0, "en"),  # 222.4 m
    ("r3", "Zhao Min", "+8613812345003", 3.0, "zh"),  # 333.6 m
    ("r4", "Far Away", "+8613812345004", 9.0, "zh"),  # 1,000.8 m: beyond 500 m
]


def roster(tmp_path: Path) -> Path:
    path = tmp_path / "responders.csv"
    lines = [",".join(COLUMNS)]
    for rid, name, phone, millidegrees, language in PEOPLE:
        lines.append(f"{rid},{name},{phone},C-{rid},2030-01-01,{LAT + millidegrees / 1000:.6f},"
                     f"{LON},24/7,2025-01-01,{language}")  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def alerting(tmp_path: Path) -> tuple[Alerting, list[str]]:
    cabinet = Cabinet(
        id=CAB, name="People's Hospital AED", site="People's Hospital", district="Bincheng",
        address="No. 1 Huanghe 2nd Road", lat=LAT, lon=LON, access_hours="24/7",
        guardian_name="Guard", guardian_phone=GUARDIAN, technician_phone="", aed_model="X",
        install_date=datetime.date(2025, 1, 1),
    )  # fmt: skip
    config = msgspec.convert({
        "alerts": {"state_dir": str(tmp_path / "state"), "broker_grace_s": 0,
                   "opened_clear_s": 1},
        "notify": {"sms_provider": "outbox", "outbox_path": str(tmp_path / "outbox.txt"),
                   "duty_officers": [DUTY], "language": "zh+en"},
        "responders": {"file": str(roster(tmp_path))},
    }, CollectorConfig)  # fmt: skip
    inventory = {CAB: cabinet}
    lines: list[str] = []
    shell = Alerting(config, inventory, PointEncoder(inventory), lines.append, clock=lambda: T0)
    shell.engine.broker_connected(True, T0 - 1)
    shell.on_message(p.Online(v=1, id=CAB, seq=1, ts=T0, sync=True, fw="1.0.0"), T0)
    shell.on_message(msgspec.structs.replace(telemetry(T0), seq=2), T0)
    return shell, lines


def queued(shell: Alerting) -> list[Notification]:
    return [item.notification for item in shell.store.sends.due(T0 + 10**9, limit=1000)]


def test_an_emergency_texts_the_responders_before_the_duty_officers(tmp_path: Path) -> None:
    shell, lines = alerting(tmp_path)
    shell.on_message(p.DoorOpen(v=1, id=CAB, seq=3, ts=T0 + 1000, sync=True), T0 + 1000)
    sent = queued(shell)
    assert [n.recipient for n in sent] == [PEOPLE[0][2], PEOPLE[1][2], PEOPLE[2][2], DUTY,
                                           GUARDIAN]  # fmt: skip
    assert (
        "120" in sent[0].text and "心肺复苏" in sent[0].text and "People's Hospital" in sent[0].text
    )
    assert sent[1].text.startswith("[AED first aid]") and "Call 120" in sent[1].text  # English
    assert "3 responders alerted, nearest 140 m." in sent[3].text
    assert "已通知附近3名急救员，最近140米。" in sent[3].text
    (record,) = [line for line in lines if line.startswith("responder_dispatch")]
    assert "alerted=3i,in_radius=3i," in record and 'distances_m="140,222,334"' in record
    written = "\n".join(lines)
    for _, name, phone, _, _ in PEOPLE:
        assert name not in written and phone not in written
    assert f"{LAT + 0.00126:.6f}" not in written


def test_a_maintenance_opening_texts_no_responder(tmp_path: Path) -> None:
    shell, lines = alerting(tmp_path)
    shell.on_message(p.MaintEnter(v=1, id=CAB, seq=3, ts=T0 + 1000, sync=True), T0 + 1000)
    shell.on_message(p.DoorOpen(v=1, id=CAB, seq=4, ts=T0 + 2000, sync=True), T0 + 2000)
    assert all(n.rule != "responders" for n in queued(shell))
    assert not [line for line in lines if line.startswith("responder_dispatch")]


def test_a_stand_down_only_after_a_false_alarm_ack(tmp_path: Path) -> None:
    shell, _ = alerting(tmp_path)
    shell.on_message(p.DoorOpen(v=1, id=CAB, seq=3, ts=T0 + 1000, sync=True), T0 + 1000)
    shell.on_message(p.DoorClose(v=1, id=CAB, seq=4, ts=T0 + 3000, sync=True, open_s=2), T0 + 3000)
    assert not [n for n in queued(shell) if n.kind == "stand_down"]  # closed again: nothing
    assert shell.acknowledge(CAB, "opened", "duty-1", false_alarm=True)
    downs = [n for n in queued(shell) if n.kind == "stand_down"]
    assert [n.recipient for n in downs] == [PEOPLE[0][2], PEOPLE[1][2], PEOPLE[2][2]]
    assert "误报" in downs[0].text and "false alarm" in downs[1].text


def test_a_plain_ack_sends_no_stand_down(tmp_path: Path) -> None:
    shell, _ = alerting(tmp_path)
    shell.on_message(p.DoorOpen(v=1, id=CAB, seq=3, ts=T0 + 1000, sync=True), T0 + 1000)
    assert shell.acknowledge(CAB, "opened", "duty-1")
    assert not [n for n in queued(shell) if n.kind == "stand_down"]


def test_start_up_refuses_a_responders_file_others_may_read(tmp_path: Path) -> None:
    path = roster(tmp_path)
    path.chmod(0o644)
    config = msgspec.convert({"alerts": {"state_dir": str(tmp_path / "state")},
                              "responders": {"file": str(path)}}, CollectorConfig)  # fmt: skip
    written: list[str] = []
    with pytest.raises(ConfigError, match="chmod 600"):
        Alerting(config, {}, PointEncoder({}), written.append, clock=lambda: T0)
