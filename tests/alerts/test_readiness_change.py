"""The `readiness_change` points (aedfleet/alerts/readiness_change.py): one for every cabinet
at collector start, then one only when its readiness state or reason changes."""

from __future__ import annotations

from aedfleet.alerts.readiness_change import ReadinessChanges
from aedfleet.collector import protocol as p
from aedfleet.collector.enrich import PointEncoder
from tests.alerts.test_engine import CAB, MIN, T0, engine, event
from tests.alerts.test_snapshot import PLACE, point

HEAD = "readiness_change,cabinet=bz-bc-001,district=Bincheng,known=true,site=hospital"


def test_written_at_start_then_only_on_a_change_of_state_or_reason() -> None:
    alerts = engine()
    changes = ReadinessChanges(PointEncoder({CAB: PLACE}))
    written = []
    for minute in range(1, 6):  # the readiness heartbeat offers every cabinet each minute
        at = T0 + minute * MIN
        if minute == 3:
            alerts.on_message(event(p.DoorOpen, 2, at - 1000), at - 1000)
        line = changes.line(CAB, alerts.readiness(CAB), at)
        if line is not None:
            written.append(point(line))
    # the start, then the open door: nothing for the three unchanged minutes
    assert [(head, values["state"], values["code"], stamp) for head, values, stamp in written] == [
        (HEAD,
         '"available"', "1i", T0 + MIN),
        (HEAD,
         '"not_ready"', "0i", T0 + 3 * MIN),
    ]  # fmt: skip
    assert written[0][1]["name"] == '"People\'s Hospital"' and written[0][1]["lat"] == "37.38"


def test_a_new_reason_in_the_same_state_is_a_change() -> None:
    changes = ReadinessChanges(PointEncoder({}))
    assert changes.line(CAB, ("not_ready", "pads expired"), T0) is not None
    assert changes.line(CAB, ("not_ready", "pads expired"), T0 + MIN) is None
    line = changes.line(CAB, ("not_ready", "AED missing"), T0 + 2 * MIN)
    assert line is not None
    _, values, _ = point(line)
    assert values["reason"] == '"AED missing"' and values["code"] == "0i"


def test_a_restarted_collector_writes_every_cabinet_again() -> None:
    encoder = PointEncoder({})
    first = ReadinessChanges(encoder)
    assert first.line(CAB, ("available", ""), T0) is not None
    assert first.line(CAB, ("available", ""), T0 + MIN) is None
    assert ReadinessChanges(encoder).line(CAB, ("available", ""), T0 + 2 * MIN) is not None
