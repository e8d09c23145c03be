"""`aedfleet demo`: the Binzhou demo fleet, live, with everything it needs started."""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path

import click


@click.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".run/demo"),
    show_default=True,
    help="Where the demo keeps broker persistence, InfluxDB data and logs.",
)
@click.option(
    "--emergency-after", type=float, default=120.0, show_default=True,
    help="Seconds until the scripted emergency opening.",
)  # fmt: skip
def demo(workdir: Path, emergency_after: float) -> None:
    """Start Mosquitto, InfluxDB, the collector and the 80-cabinet Binzhou demo fleet, and show
    live what the ops room would see; Ctrl-C stops everything it started.

    Example: aedfleet demo --workdir /tmp/aedfleet-demo
    """
    from aedfleet.broker.accounts import OPERATOR_USER
    from aedfleet.dashboards import provisioning
    from aedfleet.services import ServiceError, free_port, running_services
    from aedfleet.simulator.demo import run_demo
    from aedfleet.simulator.demo_fleet import demo_inventory

    cabinets = demo_inventory()
    try:
        with running_services(workdir.resolve(), [c.id for c in cabinets]) as services:
            click.echo(
                f"Mosquitto  {services.mosquitto.url}  (pid {services.mosquitto.process.pid})"
            )
            click.echo(f"InfluxDB   {services.influxdb.url}  (pid {services.influxdb.process.pid})")
            click.echo(
                f"broker accounts: user {OPERATOR_USER}, passwords in "
                f"{services.mosquitto.files.credentials_path}; TLS on port "
                f"{services.mosquitto.tls_port} with CA {services.mosquitto.files.tls.ca_cert}"
            )
            api = {"listen": f"127.0.0.1:{free_port()}", "token": secrets.token_urlsafe(24)}
            click.echo(
                f"data and logs in {services.workdir}; alerts API: AEDFLEET_COLLECTOR_URL="
                f"http://{api['listen']} AEDFLEET_HTTP_TOKEN={api['token']} aedfleet alerts list"
            )
            grafana = services.workdir / "grafana"
            provisioning.build(grafana, grafana / "dashboards")
            click.echo(
                f"Grafana provisioning in {grafana}: start Grafana 10+ with "
                f"GF_PATHS_PROVISIONING={grafana / 'provisioning'} "
                f"AEDFLEET_INFLUX_URL={services.influxdb.url} AEDFLEET_INFLUX_DATABASE=aedfleet"
            )
            click.echo("Press Ctrl-C to stop.")
            # a Ctrl-C before the demo's own handler is in place must still stop cleanly
            with contextlib.suppress(KeyboardInterrupt):
                run_demo(services, workdir.resolve(), cabinets,
                         emergency_after_s=emergency_after, http=api)  # fmt: skip
            click.echo("stopping the services this demo started")
    except ServiceError as error:
        raise click.ClickException(str(error)) from error
