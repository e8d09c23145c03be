"""`aedfleet simulate`: a simulated fleet through the real services, with a verdict."""

from __future__ import annotations

from pathlib import Path

import click

from aedfleet.simulator import DEFAULT_SPEED


@click.command()
@click.option(
    "--cabinets",
    type=click.IntRange(1, 20_000),
    default=80,
    show_default=True,
    help="Fleet size; each cabinet has its own MQTT connection and account.",
)
@click.option(
    "--scenario",
    "scenarios",
    default="all",
    show_default=True,
    help="'all', or scenario names joined by commas (aedfleet/simulator/scenarios/*.toml); "
    "cabinets not in one play normal_day.",
)
@click.option(
    "--seed",
    type=int,
    default=1,
    show_default=True,
    help="The same seed gives the same fleet, roles and readings.",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=1),
    default=DEFAULT_SPEED,
    show_default=True,
    help="Simulated seconds per real second (dates and alert hold times), at most: the "
    "simulated clock slows, and says so, when the fleet is too large to honour it.",
)
@click.option(
    "--duration",
    default=None,
    help="Simulated run length, like 90m; default: what the scenarios need.",
)
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".run/simulate"),
    show_default=True,
    help="Broker, InfluxDB, collector state and logs; emptied at the start.",
)
@click.option("--list", "list_only", is_flag=True, help="List the scenarios and exit.")
def simulate(cabinets: int, scenarios: str, seed: int, speed: float, duration: str | None,
             workdir: Path, list_only: bool) -> None:  # fmt: skip
    """Run a simulated fleet through Mosquitto, the collector and InfluxDB, then check that
    the collector raised exactly the alerts and stored exactly what each scenario states.
    Exits 1 when it did not, 2 when the run is inconclusive: the simulator could not honour
    every cabinet's timeline (it slows simulated time, down from --speed, before it gives up).

    Example: aedfleet simulate --cabinets 200 --scenario all --seed 7
    """
    from aedfleet.services import ServiceError
    from aedfleet.simulator.scenario import ScenarioError, duration_ms, load_library
    from aedfleet.simulator.simulation import simulate as simulate_fleet

    try:
        library = load_library()
        if list_only:
            for name, scenario in sorted(library.items()):
                click.echo(f"{name:20} {scenario.description}")
            return
        outcome = simulate_fleet(
            cabinets=cabinets, scenarios=scenarios, seed=seed, speed=speed,
            workdir=workdir.resolve(), duration_ms=duration_ms(duration) if duration else None,
        )  # fmt: skip
    except (ScenarioError, ServiceError) as error:
        raise click.ClickException(str(error)) from error
    if outcome.exit_code:
        raise SystemExit(outcome.exit_code)
