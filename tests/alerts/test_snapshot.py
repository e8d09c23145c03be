"""The `cabinet_state` snapshot (aedfleet/alerts/snapshot.py): what each point says,
and that between heartbeats only a change is written, acknowledgements and silences included."""

from __future__ import annotations

import datetime

from aedfleet.alerts.engine import Silence
from aedfleet.alerts.snapshot import Snapshots
from aedfleet.collector import protocol as p
from aedfleet.collector.enrich import PointEncoder
from aedfleet.collector.inventory import Cabinet
from tests.alerts.test_engine import CAB, MIN, T0, engine, event

PLACE = Cabinet(
    id=CAB, name="People's Hospital", site="hospital", district="Bincheng",
    address="No. 1 Huanghe Road", lat=37.38, lon=118.01, access_hours="24h",
    guardian_name="", guardian_phone="", technician_phone="", aed_model="X",
    install_date=datetime.date(2024, 1, 1),
)  # fmt: skip


def _split(line: str) -> tuple[str, str, str]:
    # strings may hold spaces and commas: cut on the first unquoted space
    quoted, cuts = False, []
    for index, char in enumerate(line):
        if char == '"' and line[index - 1] != "\\":
            quoted = not quoted
        elif char == " " and not quoted and line[index - 1] != "\\":
            cuts.append(index)
    return line[: cuts[0]], line[cuts[0] + 1 : cuts[1]], line[cuts[1] + 1 :]


def split_fields(field_set: str) -> dict[str, str]:
    out, key, value, quoted, in_value = {}, "", "", False, False
    for char in field_set + ",":
        if char == '"':
            quoted = not quoted
        if char == "=" and not quoted and not in_value:
            in_value = True
        elif char == "," and not quoted:
            out[key] = value
            key, value, in_value = "", "", False
        elif in_value:
            value += char
        else:
            key += char
    return out


def point(line: str) -> tuple[str, dict[str, str], int]:
    head, field_set, stamp = _split(line)
    return head, split_fields(field_set), int(stamp)


def test_a_ready_cabinet_reads_available_with_its_readings_and_place() -> None:
    alerts = engine()
    snapshots = Snapshots(alerts, {CAB: PLACE}, PointEncoder({CAB: PLACE}))
    [line] = snapshots.lines([CAB], T0 + MIN, force=False)
    head, values, stamp = point(line)
    assert head.startswith("cabinet_state,cabinet=bz-bc-001,district=Bincheng")
    assert stamp == T0 + MIN
    assert values["state"] == '"available"' and values["available"] == "1i"
    assert (values["in_use"], values["not_ready"], values["offline"]) == ("0i", "0i", "0i")
    assert values["problem"] == "0i" and values["alerts"] == "0i"
    assert values["last_seen_ms"] == f"{T0}i" and values["batt_v"] == "12.8"
    assert values["temp_c"] == "20.0" and values["pad_exp"] == '"2028-01-01"'
    assert values["name"] == '"People\'s Hospital"' and values["lat"] == "37.38"
    assert values["address"] == '"No. 1 Huanghe Road"'
    assert values["label"] == '"bz-bc-001 People\'s Hospital"'
    assert int(values["pad_days"].rstrip("i")) > 0


def test_between_heartbeats_only_a_change_is_written() -> None:
    alerts = engine()
    snapshots = Snapshots(alerts, {}, PointEncoder({}))
    assert len(snapshots.lines([CAB], T0, force=False)) == 1
    assert snapshots.lines([CAB], T0 + 1000, force=False) == []  # nothing changed
    assert len(snapshots.lines([CAB], T0 + 2000, force=True)) == 1  # the heartbeat


def test_an_opened_cabinet_then_acknowledged_then_silenced() -> None:
    alerts = engine()
    snapshots = Snapshots(alerts, {}, PointEncoder({}))
    snapshots.lines([CAB], T0, force=False)
    alerts.on_message(event(p.DoorOpen, 2, T0 + 1000), T0 + 1000)
    alerts.on_message(event(p.AedRemoved, 3, T0 + 2000), T0 + 2000)
    [line] = snapshots.lines([CAB], T0 + 2000, force=False)
    _, values, _ = point(line)
    assert values["state"] == '"in_use"' and values["in_use"] == "1i"
    assert values["available"] == "0i" and values["problem"] == "1i"
    assert values["level"] == '"critical"' and values["unacked"] == "1i"
    assert values["alert_text"] == '"opened: AED removed"'
    alerts.acknowledge(CAB, "opened", T0 + 3000, "duty officer")
    _, acked, _ = point(snapshots.lines([CAB], T0 + 3000, force=False)[0])
    assert (acked["acked"], acked["unacked"]) == ("1i", "0i")
    assert "acknowledged by duty officer" in acked["alert_text"]
    alerts.silence(Silence(CAB, "", T0 + 60 * MIN, "technician on site"))
    _, quiet, _ = point(snapshots.lines([CAB], T0 + 4000, force=False)[0])
    assert quiet["silenced"] == "1i" and "(silenced)" in quiet["alert_text"]


def test_a_cabinet_never_heard_from_reads_offline() -> None:
    alerts = engine()
    snapshots = Snapshots(alerts, {}, PointEncoder({}))
    _, values, _ = point(snapshots.lines(["bz-bc-404"], T0, force=True)[0])
    assert values["state"] == '"offline"' and values["offline"] == "1i"
    assert values["reason"] == '"never heard from"' and "last_seen_ms" not in values


def test_a_long_silent_cabinet_keeps_its_expiry_counting_down() -> None:
    """The worklist must not lose a cabinet that went quiet: its heartbeat snapshot still
    carries the expiry, counted from the day of writing, not from its last message."""
    alerts = engine()
    snapshots = Snapshots(alerts, {}, PointEncoder({}))
    _, first, _ = point(snapshots.lines([CAB], T0, force=True)[0])
    days_later = T0 + 3 * 86_400_000
    alerts.tick(days_later - MIN)
    alerts.tick(days_later)  # silent: offline, after its hold
    _, later, _ = point(snapshots.lines([CAB], days_later, force=True)[0])
    assert later["state"] == '"offline"' and later["pad_exp"] == '"2028-01-01"'
    assert int(later["pad_days"].rstrip("i")) == int(first["pad_days"].rstrip("i")) - 3
