"""`aedfleet deploy`: the folder that installs aedfleet as services on one Debian server."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command()
@click.option(
    "--inventory",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The cabinet inventory CSV: one broker account per cabinet.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The folder to write (laid out as the server's file system, with README.txt).",
)
@click.option(
    "--hostname",
    "hostnames",
    multiple=True,
    required=True,
    help="The server's name the cabinets connect to (in its TLS certificate); repeat for more.",
)
@click.option(
    "--sms-provider",
    type=click.Choice(["none", "twilio", "aliyun"]),
    default="none",
    show_default=True,
    help="Its keys are left for you to fill in the environment file.",
)
@click.option("--duty-officer", "duty_officers", multiple=True, help="E.164 number; repeat.")
@click.option("--influx-url", default="http://127.0.0.1:8086", show_default=True)
@click.option("--influx-database", default="aedfleet", show_default=True)
@click.option("--tls-port", type=int, default=8883, show_default=True)
@click.option(
    "--plain-port", type=int, default=1883, show_default=True,
    help="Plain MQTT on 127.0.0.1 only: the collector's connection.",
)  # fmt: skip
@click.option("--http-listen", default="127.0.0.1:9108", show_default=True)
@click.option(
    "--broker-user", default="mosquitto", show_default=True,
    help="The user Mosquitto runs as (Debian's mosquitto package makes it).",
)  # fmt: skip
@click.option(
    "--root", type=click.Path(file_okay=False, path_type=Path), default=Path("/"),
    help="Where the server's file system is (/); a staging folder for a trial run.",
)  # fmt: skip
@click.option(
    "--ha", is_flag=True,
    help="High availability (docs/ha.md): the broker is a NATS JetStream cluster of the --node "
    "machines instead of Mosquitto on this host; one folder per node under nodes/.",
)  # fmt: skip
@click.option(
    "--node", "nodes", multiple=True, metavar="NAME=HOST",
    help="With --ha: a node of the cluster, 3 or 5 of them.",
)  # fmt: skip
@click.option("--route-port", type=int, default=6222, show_default=True,
              help="With --node: the nodes' routes to each other (mutual TLS).")  # fmt: skip
@click.option("--monitor-port", type=int, default=8222, show_default=True,
              help="With --node: each node's /healthz, on its own address.")  # fmt: skip
@click.option("--client-port", type=int, default=4222, show_default=True,
              help="With --node: NATS's own protocol (no account may use it).")  # fmt: skip
@click.option(
    "--nats-server", type=click.Path(dir_okay=False, path_type=Path),
    default=Path("/usr/local/bin/nats-server"), show_default=True,
    help="With --node: where each node has the nats-server binary.",
)  # fmt: skip
@click.option(
    "--alerts-store", default="", metavar="URL",
    help="Active/standby collectors (docs/ha.md): the PostgreSQL URL of the shared alert store "
    "and leader lease, without its password (that goes in aedfleet.env); then install this "
    "folder on two collector hosts.",
)  # fmt: skip
@click.option(
    "--aedfleet", "aedfleet_command", type=click.Path(dir_okay=False, path_type=Path),
    default=None, help="The aedfleet command the collector unit runs (default: this install's).",
)  # fmt: skip
def deploy(
    inventory: Path,
    out: Path,
    hostnames: tuple[str, ...],
    sms_provider: str,
    duty_officers: tuple[str, ...],
    influx_url: str,
    influx_database: str,
    tls_port: int,
    plain_port: int,
    http_listen: str,
    broker_user: str,
    root: Path,
    ha: bool,
    nodes: tuple[str, ...],
    route_port: int,
    monitor_port: int,
    client_port: int,
    nats_server: Path,
    alerts_store: str,
    aedfleet_command: Path | None,
) -> None:
    """Write a production deployment: broker config, collector.toml, a 0600 environment file
    for secrets, hardened systemd units, Grafana provisioning and README.txt with the commands
    that install them. Run it as root, so files get the broker's group. Run again to upgrade:
    every password is kept.

    Example: sudo /opt/aedfleet/bin/aedfleet deploy --inventory inventory.csv --out deploy
    --hostname mqtt.example.org --sms-provider aliyun --duty-officer +8613700000001

    High availability: add --ha --node n1=10.0.0.1 --node n2=10.0.0.2 --node n3=10.0.0.3
    (docs/ha.md).
    """
    from aedfleet.broker.errors import BrokerConfigError
    from aedfleet.collector.config import ConfigError
    from aedfleet.collector.inventory import InventoryError
    from aedfleet.deploy.bundle import DeployOptions, write_bundle
    from aedfleet.deploy.cluster import ClusterOptions, parse_node

    if ha != bool(nodes):
        raise click.UsageError("--ha takes the cluster's nodes: --node NAME=HOST, 3 or 5 times")
    try:
        cluster = (
            ClusterOptions(
                nodes=tuple(parse_node(spec) for spec in nodes),
                mqtt_port=tls_port,
                route_port=route_port,
                monitor_port=monitor_port,
                client_port=client_port,
                nats_server=nats_server,
            )
            if nodes
            else None
        )
    except BrokerConfigError as error:
        raise click.BadParameter(str(error), param_hint="--node") from error
    options = DeployOptions(
        hostnames=hostnames,
        root=root.resolve(),
        aedfleet=(aedfleet_command or Path(sys.executable).parent / "aedfleet").absolute(),
        broker_user=broker_user,
        tls_port=tls_port,
        plain_port=plain_port,
        influx_url=influx_url,
        influx_database=influx_database,
        http_listen=http_listen,
        sms_provider=sms_provider,
        duty_officers=duty_officers,
        cluster=cluster,
        alerts_store=alerts_store,
    )
    try:
        written = write_bundle(out.resolve(), inventory, options)
    except (InventoryError, BrokerConfigError, ConfigError, OSError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{len(written)} files in {out}; install them as {out / 'README.txt'} says")
