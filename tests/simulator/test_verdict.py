"""The verdict of `simulate` keeps the product's outcomes apart from the simulator's health:
differences count against the product only when every timeline was honoured and the event
loop kept within the firmware's real-time timeouts."""

from __future__ import annotations

import datetime
import io

from rich.console import Console

from aedfleet.simulator.fleet import FleetStats, Timeline
from aedfleet.simulator.plan import choose, plan_fleet
from aedfleet.simulator.scenario import load_library
from aedfleet.simulator.simulation import LAG_LIMIT_S, Outcome, health, summary
from aedfleet.simulator.verify import Mismatch

LIBRARY = load_library()
PLAN = plan_fleet(20, choose(LIBRARY, "emergency_opening,door_ajar"), LIBRARY, seed=1,
                  start_date=datetime.date(2026, 12, 1))  # fmt: skip
PLAYERS = {p.scenario.name: p.cabinet.id for p in PLAN}
WRONG = Mismatch(PLAYERS["door_ajar"], "door_ajar", "alerts raised", "door_ajar, opened", "opened")


def outcome(
    *, mismatches: list[Mismatch], lag_s: float = 0.2, done: int = 6, speed: float = 52.0
) -> Outcome:
    timelines = {
        PLAYERS["emergency_opening"]: Timeline(6, done, 0.4 if done == 6 else 30.0),
        PLAYERS["door_ajar"]: Timeline(1, 1, 0.1),
    }
    return Outcome(PLAN, FleetStats(20, 20, 400, 0), 70.0, 0, 50 * 60_000, mismatches, "db",
                   60.0, speed, lag_s, 9 * 60_000 + 5000, timelines)  # fmt: skip


def shown(result: Outcome) -> str:
    text = io.StringIO()
    Console(file=text, width=200).print(summary(result))
    return text.getvalue() + health(result)


def test_a_run_that_kept_up_and_matched_passes() -> None:
    result = outcome(mismatches=[])
    assert (result.exit_code, result.inconclusive, result.honoured) == (0, False, 2)
    assert result.verdict == "passed: every cabinet as its scenario states"
    text = shown(result)
    assert "speed 60 asked, 52.0 achieved (slowed to what this machine honoured)" in text
    assert (
        "worst event-loop lag 0.20 s at 9m05s simulated" in text
        and "2 of 2 cabinets' timelines honoured" in text
    )


def test_differences_in_a_run_that_kept_up_are_the_products() -> None:
    result = outcome(mismatches=[WRONG])
    assert result.exit_code == 1 and result.verdict.startswith("failed: 1 difference")
    assert "expected door_ajar, opened, found opened" in shown(result)


def test_a_step_that_never_reached_the_firmware_makes_the_run_inconclusive() -> None:
    result = outcome(mismatches=[WRONG], done=4)
    assert result.exit_code == 2 and result.honoured == 1
    assert result.verdict == "inconclusive: the simulator fell behind by 30.0 s"
    assert "honoured 0/1" in shown(result)


def test_a_loop_lagging_past_the_firmwares_timeouts_makes_it_inconclusive_even_if_matched() -> None:
    result = outcome(mismatches=[], lag_s=LAG_LIMIT_S + 1.5)
    assert result.exit_code == 2
    assert result.verdict == f"inconclusive: the simulator fell behind by {LAG_LIMIT_S + 1.5:.1f} s"
