"""The demo's view fits the terminal it is shown in: at 80 x 24 every section is there and no
line is wider or the whole taller than the window; a tall window shows the districts too; a
smaller one is asked to widen. It says what to type, and what the acknowledgement did."""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

import pytest
from rich.cells import cell_len
from rich.console import Console, Group

from aedfleet.simulator.demo_view import MIN_HEIGHT, MIN_WIDTH, Snapshot, act_lines, render

ACK = "aedfleet alerts ack bz-bc-001 opened"


def _alert(rule: str, severity: str, state: str = "firing", **more: Any) -> dict[str, Any]:
    return {"cabinet_id": "bz-bc-001", "rule": rule, "severity": severity, "state": state,
            "summary": f"{rule} " + "x" * 90, "since_ms": 0, "changed_ms": 0, "repeats": 0,
            "acked_by": "", **more}  # fmt: skip


def _busy(act: list[str]) -> Snapshot:
    districts = {f"district {i}": Counter(available=10, in_use=1, offline=1) for i in range(7)}
    alerts = [_alert("opened", "critical", repeats=3), _alert("aed_missing", "high"),
              *(_alert("expiring", "warning") for _ in range(5)),
              *(_alert("offline", "high") for _ in range(6))]  # fmt: skip
    beats = [f"+00:{i:02d} " + "beat " * 20 for i in range(9)]
    sms = [f"[00:00:{i:02d}] DEMO SMS to +8613700000000: 【AED】" + "很长" * 60
           for i in range(30)]  # fmt: skip
    return Snapshot("+01:00", "08:00:00", districts, beats, act, alerts, sms)


def _shown(snapshot: Snapshot, width: int, height: int) -> list[str]:
    out = io.StringIO()
    console = Console(file=out, width=width, height=height, color_system=None)
    console.print(Group(*render(snapshot, width, height)))
    return out.getvalue().splitlines()


FIRING = act_lines(_alert("opened", "critical", repeats=2), cabinet="bz-bc-001",
                   rule="opened", repeat_s=30, resolved=False)  # fmt: skip


def test_at_80_by_24_everything_fits_and_each_section_is_there() -> None:
    lines = _shown(_busy(FIRING), 80, 24)
    assert len(lines) <= 23  # the cursor's line stays free: nothing scrolls
    assert all(cell_len(line) <= 80 for line in lines)  # a CJK character takes two cells
    text = "\n".join(lines)
    for heading in ("what happens", "you are the duty officer", "active alerts",
                    "technician's worklist", "SMS that would go out"):  # fmt: skip
        assert heading in text
    assert ACK in text
    assert "+00:08" in text  # the newest beat


def test_the_firing_emergency_says_what_to_type_and_how_often_it_repeats() -> None:
    assert FIRING[1].strip() == ACK
    assert "repeats every 30 s: 2 repeat SMS so far" in FIRING[2]


def test_after_the_ack_it_says_who_when_and_that_the_repeats_stopped() -> None:
    acked = _alert("opened", "critical", "acknowledged", repeats=2, acked_by="you",
                   changed_ms=1_764_547_200_000)  # fmt: skip
    for resolved in (False, True):  # and still after the alert resolved
        lines = act_lines(acked, cabinet="bz-bc-001", rule="opened", repeat_s=30,
                          resolved=resolved)  # fmt: skip
        assert len(lines) == 1
        assert lines[0].startswith("acknowledged by you at ")
        assert lines[0].endswith("repeats stopped (2 repeat SMS before)")


def test_before_any_alert_it_says_what_can_be_typed() -> None:
    lines = act_lines(None, cabinet="bz-bc-001", rule="opened", repeat_s=30, resolved=False)
    assert "aedfleet alerts list" in "\n".join(lines)


def test_a_repeat_sms_is_marked_as_such_before_the_line_is_cut() -> None:
    snapshot = _busy(FIRING)._replace(sms=[
        "[08:00:05] DEMO SMS to +8613700000000: 【AED】" + "很长" * 40 + " (not yet acknowledged)"
    ])  # fmt: skip
    assert any("[08:00:05] REPEAT +8613700000000" in line for line in _shown(snapshot, 80, 24))


def test_a_tall_window_shows_the_districts_too() -> None:
    quiet = _busy(FIRING)._replace(alerts=[], sms=[], beats=["+00:00 morning"])
    assert "readiness by district" in "\n".join(_shown(quiet, 100, 40))
    assert "readiness by district" not in "\n".join(_shown(_busy(FIRING), 80, 24))


@pytest.mark.parametrize(("width", "height"), [(60, 30), (120, 15), (40, 10)])
def test_a_smaller_window_is_asked_to_widen_and_nothing_overflows(width: int, height: int) -> None:
    lines = _shown(_busy(FIRING), width, height)
    assert f"at least {MIN_WIDTH} x {MIN_HEIGHT}" in lines[0] or "widen" in lines[0]
    assert len(lines) <= height - 1
