"""The `aedfleet` command; each part of the product adds its subcommands here."""

from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path

import click

from aedfleet.services import ServiceError, running_services


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Fleet monitoring for public-access AED cabinets.

    Example: aedfleet demo
    """


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
