"""The `aedfleet` command; each part of the product adds its subcommands here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from pathlib import Path

import click

from aedfleet.services import ServiceError, running_services
from collector.config import ConfigError, load_config
from collector.inventory import InventoryError, load_inventory
from collector.service import Collector


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Fleet monitoring for public-access AED cabinets.

    Example: aedfleet demo
    """


@main.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="TOML configuration (see collector/aedfleet.sample.toml); defaults apply without it.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log every connect and flush.")
def collect(config_path: Path | None, verbose: bool) -> None:
    """Run the collector: MQTT → validated → InfluxDB, with spool and dead letters.

    Example: AEDFLEET_INFLUX_PASSWORD=secret aedfleet collect --config aedfleet.toml
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = load_config(config_path)
        inventory = load_inventory(Path(config.fleet.inventory))
        collector = Collector(config, inventory)
    except (ConfigError, InventoryError, OSError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    asyncio.run(_run_until_signalled(collector))


async def _run_until_signalled(collector: Collector) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await collector.run(stop)


@main.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".run/demo"),
    show_default=True,
    help="Where the demo keeps broker persistence, InfluxDB data and logs.",
)
def demo(workdir: Path) -> None:
    """Start Mosquitto and InfluxDB locally and show how to reach them; Ctrl-C stops them.

    Example: aedfleet demo --workdir /tmp/aedfleet-demo
    """
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with running_services(workdir.resolve()) as services:
            click.echo(
                f"Mosquitto  {services.mosquitto.url}  (pid {services.mosquitto.process.pid})"
            )
            click.echo(f"InfluxDB   {services.influxdb.url}  (pid {services.influxdb.process.pid})")
            click.echo(f"data and logs in {services.workdir}")
            click.echo("Press Ctrl-C to stop.")
            with contextlib.suppress(KeyboardInterrupt):
                stop.wait()
            click.echo("stopping the services this demo started")
    except ServiceError as error:
        raise click.ClickException(str(error)) from error
