"""The `firmware` points (aedfleet/alerts/firmware_points.py): the version a tag, so the
fleet overview counts cabinets per version; written on a change and at every heartbeat."""

from __future__ import annotations

from aedfleet.alerts.firmware_points import FirmwarePoints
from aedfleet.collector.enrich import PointEncoder
from tests.alerts.test_engine import CAB, T0, engine


def test_the_version_is_a_tag_written_on_a_change_and_at_the_heartbeat() -> None:
    alerts = engine()
    points = FirmwarePoints(alerts, PointEncoder({}))
    alerts.cabinets[CAB].fw = ""
    assert points.lines([CAB, "bz-xx-404"], T0, force=True) == []  # no version known yet
    alerts.cabinets[CAB].fw = "1.0.0"
    [line] = points.lines([CAB], T0, force=False)
    assert line.startswith(f"firmware,cabinet={CAB},") and ",fw=1.0.0 n=1i " in line
    assert line.endswith(f" {T0}")
    assert points.lines([CAB], T0 + 1000, force=False) == []  # unchanged
    assert len(points.lines([CAB], T0 + 2000, force=True)) == 1  # the heartbeat
    alerts.cabinets[CAB].fw = "2.0.0"
    [line] = points.lines([CAB], T0 + 3000, force=False)
    assert ",fw=2.0.0 " in line
