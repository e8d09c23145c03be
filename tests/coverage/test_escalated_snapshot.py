"""A cabinet's `cabinet_state` snapshot carries the severity coverage escalated its alert to
(it was the only AED of some place), as its `alert` point and SMS do, and only for that
alert (the same rule raised again later is judged afresh)."""

from __future__ import annotations

from aedfleet.alerts.engine import Alert
from aedfleet.alerts.snapshot import Snapshots
from aedfleet.collector.enrich import PointEncoder
from tests.alerts.test_engine import CAB, T0, engine
from tests.alerts.test_snapshot import point


def test_the_snapshot_shows_the_escalated_severity() -> None:
    alerts = engine()
    alerts.restore(Alert(CAB, "aed_missing", "firing", "high", "AED not returned", T0, T0))
    snapshots = Snapshots(alerts, {}, PointEncoder({}))
    _, before, _ = point(snapshots.lines([CAB], T0, force=False)[0])
    assert before["level"] == '"high"'
    snapshots.escalated[(CAB, "aed_missing")] = (T0, "critical")
    _, after, _ = point(snapshots.lines([CAB], T0 + 1000, force=False)[0])  # a change
    assert after["level"] == '"critical"' and after["problem"] == "1i"
    # another alert of the same rule (another since) is not the escalated one
    alerts.restore(Alert(CAB, "aed_missing", "firing", "high", "AED not returned", T0 + 5, T0))
    _, later, _ = point(snapshots.lines([CAB], T0 + 2000, force=False)[0])
    assert later["level"] == '"high"'
