"""The demo's ops-room view shows the key places covered beside readiness, and the places that
just lost their last ready AED, within 80 x 24."""

from __future__ import annotations

from collections import Counter

from aedfleet.simulator.demo_view import Snapshot, render


def test_coverage_beside_readiness_and_the_places_that_lost_it() -> None:
    districts = {"Bincheng": Counter(available=19, in_use=1), "Huimin": Counter(available=10)}
    lost = ("08:45:20 Bincheng People's Hospital (Bincheng)",
            "08:45:20 Bincheng People's Hospital outpatient building (Bincheng)")  # fmt: skip
    snapshot = Snapshot("+01:00", "08:45:30", districts, ["+00:20 the door opens"], [], [], [],
                        "78 %", lost)  # fmt: skip
    lines = [line.plain for line in render(snapshot, 80, 24)]
    assert all(len(line) <= 80 for line in lines) and len(lines) < 24
    assert lines[1].rstrip().endswith("key places covered 78 %")
    heading = next(n for n, line in enumerate(lines) if "lost their last ready AED" in line)
    assert lines[heading + 1 : heading + 3] == list(lost)


def test_without_coverage_nothing_about_it_is_shown() -> None:
    snapshot = Snapshot("+01:00", "08:00:00", {"Bincheng": Counter(available=20)}, [], [], [], [])
    assert not any("key places" in line.plain for line in render(snapshot, 80, 24))
