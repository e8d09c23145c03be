"""Which cabinet plays which scenario, with which expiry dates and readings: a pure plan from
the fleet size, the chosen scenarios and the seed. The same seed gives the same plan."""

from __future__ import annotations

import datetime
import random
from typing import Any, NamedTuple

from aedfleet.collector.inventory import Cabinet
from aedfleet.simulator.demo_fleet import fleet_inventory, is_outdoor
from aedfleet.simulator.scenario import BASE, Action, Scenario, ScenarioError, timeline


class PlannedCabinet(NamedTuple):
    cabinet: Cabinet
    scenario: Scenario
    actions: list[Action]
    firmware: dict[str, Any]  # firmware configuration this cabinet runs with
    seed: int  # its environment's random source
    victim: str  # whose topic a hostile cabinet forges


def choose(library: dict[str, Scenario], names: str) -> list[Scenario]:
    """'all', one name, or names joined by commas."""
    wanted = sorted(library) if names == "all" else [n.strip() for n in names.split(",")]
    unknown = [name for name in wanted if name not in library]
    if unknown:
        raise ScenarioError(
            f"no scenario {', '.join(unknown)}; known: {', '.join(sorted(library))}"
        )
    return [library[name] for name in wanted]


def plan_fleet(
    total: int,
    scenarios: list[Scenario],
    library: dict[str, Scenario],
    *,
    seed: int,
    start_date: datetime.date,
) -> list[PlannedCabinet]:
    """Each chosen scenario is played by its `cabinets` count (outdoor ones by cabinets that
    stand outside); every other cabinet plays the normal day."""
    rng = random.Random(seed)
    inventory = fleet_inventory(total, seed)
    order = list(range(total))
    rng.shuffle(order)
    base = library[BASE]
    roles: dict[int, Scenario] = {}
    for scenario in (s for s in scenarios if s.name != BASE):  # the rest play the base
        wanted = max(1, scenario.cabinets)
        free = [i for i in order if i not in roles]
        if scenario.outdoor:
            free.sort(key=lambda i: not is_outdoor(inventory[i]))  # stable: outdoor first
        if len(free) < wanted:
            raise ScenarioError(
                f"{total} cabinets are too few: scenario {scenario.name} needs {wanted} more"
            )
        roles.update((i, scenario) for i in free[:wanted])
    bystander = next((c.id for i, c in enumerate(inventory) if i not in roles), inventory[0].id)
    plan = []
    for index, cabinet in enumerate(inventory):
        scenario = roles.get(index, base)
        pads = scenario.pads_expire_in_days or rng.randint(400, 900)
        battery = scenario.aed_battery_expires_in_days or rng.randint(600, 1500)
        firmware = {
            "pad_exp": (start_date + datetime.timedelta(days=pads)).isoformat(),
            "batt_exp": (start_date + datetime.timedelta(days=battery)).isoformat(),
        }
        victim = bystander if bystander != cabinet.id else inventory[-1].id
        plan.append(
            PlannedCabinet(cabinet, scenario, timeline(scenario), firmware, rng.getrandbits(32),
                           victim)
        )  # fmt: skip
    return plan
