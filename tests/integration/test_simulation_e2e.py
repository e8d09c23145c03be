"""`aedfleet simulate` end to end at scale: 2,000 cabinets, every scenario once, at the default
speed, through the real Mosquitto (per-cabinet accounts and ACL), the collector on the
simulated clock and the real InfluxDB. The verdict must mean what it means at 20 cabinets:
every timeline honoured, every cabinet as its scenario states, exit 0."""

from __future__ import annotations

import pytest

from aedfleet.simulator.scenario import BASE, load_library
from tests.integration.conftest import FLEET_SIZE, FLEET_TIMEOUT, SimulatedFleet

pytestmark = [pytest.mark.slow, pytest.mark.services, FLEET_TIMEOUT]


def test_two_thousand_cabinets_every_scenario_once(simulated_fleet: SimulatedFleet) -> None:
    outcome, shown = simulated_fleet.outcome, simulated_fleet.shown
    played = {p.scenario.name for p in outcome.plan}
    assert played == set(load_library())
    assert sum(p.scenario.name != BASE for p in outcome.plan) == len(played) - 1
    assert outcome.honoured == len(outcome.timelines) > 0, shown
    assert outcome.mismatches == [], shown
    assert outcome.exit_code == 0, shown
    assert outcome.stats.cabinets == outcome.stats.connected == FLEET_SIZE
    # every cabinet reported all along: a telemetry message per simulated 5 minutes at least
    assert outcome.stats.delivered >= FLEET_SIZE * outcome.simulated_ms // 300_000
    # the emergency reached the duty officer's phone (the demo outbox stands in for SMS)
    emergency = next(p.cabinet for p in outcome.plan if p.scenario.name == "emergency_opening")
    sms = (simulated_fleet.workdir / "sms-outbox.txt").read_text(encoding="utf-8")
    assert any(emergency.name in line and "AED removed" in line for line in sms.splitlines())
    assert "as stated" in shown and "expected" not in shown
