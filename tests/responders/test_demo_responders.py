"""The demo's emergency at People's Hospital texts its three demo responders, and the live view
says how many and how near (counts only)."""

from __future__ import annotations

import stat
from collections import Counter
from pathlib import Path

from aedfleet.notify.messages import Transition
from aedfleet.responders.dispatch import Responders
from aedfleet.responders.select import Limits
from aedfleet.simulator.demo import write_demo_responders
from aedfleet.simulator.demo_fleet import demo_inventory
from aedfleet.simulator.demo_story import cast
from aedfleet.simulator.demo_view import Snapshot, render

NOW_MS = 1_795_820_400_000


def test_the_demo_emergency_alerts_three_responders_nearest_140_m(tmp_path: Path) -> None:
    hospital = cast(demo_inventory()).emergency
    assert "People's Hospital" in hospital.site or "人民医院" in hospital.site
    path = write_demo_responders(tmp_path / "responders.csv", hospital)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    responders = Responders.load(path, Limits())
    opened = Transition(hospital.id, "opened", "firing", "critical", "door opened", NOW_MS,
                        NOW_MS)  # fmt: skip
    dispatch = responders.dispatch(opened, hospital, NOW_MS)
    assert [round(d) for d in dispatch.distances_m] == [140, 260, 390]
    assert responders.last == (hospital.id, 3, dispatch.distances_m[0])
    assert "Call 120" in dispatch.notifications[1].text  # the second speaks English


def test_the_view_shows_the_responders_alerted() -> None:
    snapshot = Snapshot("+01:00", "08:45:30", {"Bincheng": Counter(available=19, in_use=1)},
                        ["+00:20 the door opens"], ["aedfleet alerts ack bz-bc-001 opened"], [],
                        [], responders="3 responders alerted, nearest 140 m")  # fmt: skip
    lines = [line.plain for line in render(snapshot, 80, 24)]
    heading = next(n for n, line in enumerate(lines) if "you are the duty officer" in line)
    assert "3 responders alerted, nearest 140 m" in lines[heading]
    assert lines[heading + 1] == "aedfleet alerts ack bz-bc-001 opened"  # the act keeps its rows
    assert all(len(line) <= 80 for line in lines) and len(lines) < 24
