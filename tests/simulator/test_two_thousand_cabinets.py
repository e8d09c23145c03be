"""`simulate` scaled up: 2,000 cabinets, every scenario once, at the default speed. The
verdict must mean what it means at 20 cabinets: every timeline honoured, every cabinet as its
scenario states, exit 0 (about 2.5 minutes of both cores on the 2-core reference machine)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from aedfleet.simulator import DEFAULT_SPEED
from aedfleet.simulator.scenario import load_library
from aedfleet.simulator.simulation import simulate

pytestmark = [pytest.mark.slow, pytest.mark.services]


@pytest.mark.timeout(900)
def test_two_thousand_cabinets_every_scenario_once_at_the_default_speed(tmp_path: Path) -> None:
    shown = io.StringIO()
    outcome = simulate(
        cabinets=2000, scenarios="all", seed=3, speed=DEFAULT_SPEED, workdir=tmp_path / "sim",
        console=Console(file=shown, width=200),
    )  # fmt: skip
    printed = shown.getvalue()
    assert {p.scenario.name for p in outcome.plan} == set(load_library())
    assert outcome.honoured == len(outcome.timelines) > 0, printed
    assert outcome.mismatches == [], printed
    assert outcome.exit_code == 0, printed
    assert outcome.stats.connected == outcome.stats.cabinets == 2000
    assert "as stated" in printed and "expected" not in printed
