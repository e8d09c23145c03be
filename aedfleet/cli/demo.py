"""`aedfleet demo`: the Binzhou demo fleet, live, with everything it needs started."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click


@click.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".run/demo"),
    show_default=True,
    help="Where the demo keeps broker persistence, InfluxDB data, logs and its env file.",
)
@click.option(
    "--pace", type=click.Choice(["day", "short"]), default="day", show_default=True,
    help="The story's pace: 'day' leaves time to read and act; 'short' tells it in a minute.",
)  # fmt: skip
@click.option(
    "--emergency-after", type=float, default=None,
    help="Seconds until the scripted emergency opening (default: the pace's).",
)  # fmt: skip
@click.option(
    "--api-port", type=click.IntRange(1, 65535), default=9108, show_default=True,
    help="The collector's alerts API port, when free (else any free port; the demo says which).",
)  # fmt: skip
def demo(workdir: Path, pace: str, emergency_after: float | None, api_port: int) -> None:
    """Start Mosquitto, InfluxDB, the collector and the 80-cabinet Binzhou demo fleet, and show
    live what the ops room would see through a short story of its day; acknowledge the
    emergency from a second terminal. Ctrl-C stops everything it started.

    Example: aedfleet demo --workdir /tmp/aedfleet-demo
    """
    from aedfleet.broker.accounts import OPERATOR_USER
    from aedfleet.dashboards import provisioning
    from aedfleet.demo_env import DEMO_DIR, ENV_FILE
    from aedfleet.services import ServiceError, running_services
    from aedfleet.simulator.demo import TOKEN_NAME, api_listen, run_demo, write_env_file
    from aedfleet.simulator.demo_fleet import demo_inventory
    from aedfleet.simulator.demo_story import PACES, cast

    story = PACES[pace]
    if emergency_after is not None:
        story = story._replace(emergency_at_s=max(emergency_after, story.pads_at_s))
    cabinets = demo_inventory()
    emergency = cast(cabinets).emergency.id
    workdir = workdir.resolve()
    try:
        with running_services(workdir, [c.id for c in cabinets]) as services:
            click.echo(
                f"Mosquitto  {services.mosquitto.url}  (pid {services.mosquitto.process.pid})"
            )
            click.echo(f"InfluxDB   {services.influxdb.url}  (pid {services.influxdb.process.pid})")
            click.echo(
                f"broker accounts: user {OPERATOR_USER}, passwords in "
                f"{services.mosquitto.files.credentials_path}; TLS on port "
                f"{services.mosquitto.tls_port} with CA {services.mosquitto.files.tls.ca_cert}"
            )
            grafana = services.workdir / "grafana"
            provisioning.build(grafana, grafana / "dashboards")
            click.echo(
                f"Grafana provisioning in {grafana}: start Grafana 10+ with "
                f"GF_PATHS_PROVISIONING={grafana / 'provisioning'} "
                f"AEDFLEET_INFLUX_URL={services.influxdb.url} AEDFLEET_INFLUX_DATABASE=aedfleet"
            )
            listen = api_listen(api_port)
            import secrets

            token = secrets.token_urlsafe(24)
            api = {"listen": listen, "tokens": {TOKEN_NAME: token}}
            env_file = write_env_file(workdir, f"http://{listen}", token)
            try:
                _how_to_act(listen, token, env_file, env_file == (Path.cwd() / DEMO_DIR /
                                                                  ENV_FILE).resolve(),
                            emergency)  # fmt: skip
                # a Ctrl-C before the demo's own handler is in place must still stop cleanly
                with contextlib.suppress(KeyboardInterrupt):
                    run_demo(services, workdir, cabinets, http=api, pace=story)
            finally:
                env_file.unlink(missing_ok=True)
            click.echo("stopping the services this demo started")
    except ServiceError as error:
        raise click.ClickException(str(error)) from error


def _how_to_act(listen: str, token: str, env_file: Path, found: bool, emergency: str) -> None:
    moved = "" if listen.endswith(":9108") else " (9108 was taken)"
    click.secho("\nYou are the duty officer.", bold=True)
    click.echo(f"  collector alerts API  http://{listen}{moved}")
    click.echo(f"  demo token            {token}  (named 'you'; in {env_file}, mode 0600)")
    if found:
        click.echo("In a second terminal, in this folder (the token is found there, no flags):")
    else:
        click.echo(f"In a second terminal, first: set -a; . {env_file}; set +a")
    click.echo("  aedfleet alerts list")
    click.echo(f"  aedfleet alerts ack {emergency} opened")
    click.echo("(.venv/bin/aedfleet if the virtualenv is not active)")
    click.echo("Press Ctrl-C to stop.\n")
