"""`aedfleet broker`: Mosquitto configuration and password rotation."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("broker")
def broker_group() -> None:
    """Mosquitto configuration for a fleet: per-cabinet accounts, ACL, TLS.

    Example: aedfleet broker config --inventory inventory.csv --out /etc/mosquitto/aedfleet
    """


@broker_group.command("config")
@click.option(
    "--inventory",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The cabinet inventory CSV: one account per cabinet.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for mosquitto.conf, passwd, acl, TLS files and credentials.json.",
)
@click.option("--prefix", default="aed", show_default=True, help="Topic prefix.")
@click.option("--tls-port", type=int, default=8883, show_default=True)
@click.option(
    "--plain-port",
    type=int,
    default=1883,
    show_default=True,
    help="Plain MQTT on 127.0.0.1 only; 0 for none.",
)
@click.option(
    "--hostname",
    "hostnames",
    multiple=True,
    default=("localhost", "127.0.0.1"),
    show_default=True,
    help="Names and addresses in the server certificate.",
)
@click.option(
    "--persistence",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where Mosquitto keeps its persistent sessions (writable by --run-as).",
)
@click.option(
    "--run-as",
    default=None,
    help="The user Mosquitto drops to when started as root, e.g. mosquitto.",
)
@click.option(
    "--group", default=None,
    help="Its group: may read mosquitto.conf, passwd, acl and server.key, nothing else.",
)  # fmt: skip
@click.option(
    "--collector", "collectors", multiple=True,
    help="A collector's account (it also gets NAME-events); repeat for more. Default: "
    "aedfleet-collector.",
)  # fmt: skip
@click.option(
    "--ca-cert", type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="An external CA's certificate (with --ca-key): its key never lands in --out.",
)  # fmt: skip
@click.option(
    "--ca-key", type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The external CA's private key, e.g. on a USB stick kept off the broker host.",
)  # fmt: skip
def broker_config(
    inventory: Path,
    out: Path,
    prefix: str,
    tls_port: int,
    plain_port: int,
    hostnames: tuple[str, ...],
    persistence: Path | None,
    run_as: str | None,
    group: str | None,
    collectors: tuple[str, ...],
    ca_cert: Path | None,
    ca_key: Path | None,
) -> None:
    """Generate the broker configuration; existing accounts keep their passwords. Cabinets
    connect over TLS (the only network listener); plain MQTT stays on 127.0.0.1.

    Example: sudo aedfleet broker config --inventory inventory.csv --out /etc/aedfleet/broker
    --hostname mqtt.example.org --run-as mosquitto --group mosquitto
    """
    from aedfleet.broker.accounts import COLLECTOR_USER, OPERATOR_USER, collector_accounts
    from aedfleet.broker.config import generate
    from aedfleet.broker.errors import BrokerConfigError
    from aedfleet.collector.inventory import InventoryError, load_inventory

    collectors = collectors or (COLLECTOR_USER,)
    try:
        cabinets = sorted(load_inventory(inventory))
        files = generate(
            out.resolve(),
            cabinets,
            prefix=prefix,
            tls_port=tls_port,
            plain_port=plain_port or None,
            hostnames=hostnames,
            persistence_dir=persistence.resolve() if persistence else None,
            run_as=run_as,
            group=group,
            collectors=collectors,
            ca_cert=ca_cert,
            ca_key=ca_key,
        )
    except (InventoryError, BrokerConfigError, OSError) as error:
        raise click.ClickException(str(error)) from error
    accounts = ", ".join(a for c in collectors for a in collector_accounts(c))
    click.echo(
        f"{len(cabinets)} cabinet accounts, {accounts}, {OPERATOR_USER} in {files.directory}"
    )
    click.echo(f"start: mosquitto -c {files.conf}")
    click.echo(f"passwords (never printed) are in {files.credentials_path}, mode 600")
    if files.tls.ca_key.exists():
        click.echo(f"move {files.tls.ca_key} off this host once done (docs/security.md)")


@broker_group.command("rotate")
@click.argument("username")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    required=True,
    help="The folder broker config wrote.",
)
@click.option("--pid", type=int, help="Mosquitto's PID, to reload it (SIGHUP).")
def broker_rotate(username: str, directory: Path, pid: int | None) -> None:
    """Give one account (a cabinet id) a new password; no other account changes.

    Example: aedfleet broker rotate bz-bc-001 --dir .run/broker --pid 1234
    """
    from aedfleet.broker.config import reload_broker, rotate
    from aedfleet.broker.errors import BrokerConfigError

    try:
        rotate(directory, username)
    except BrokerConfigError as error:
        raise click.ClickException(str(error)) from error
    if pid is not None:
        reload_broker(pid)
    click.echo(
        f"new password for {username} stored in {directory / 'credentials.json'}; "
        f"run `aedfleet firmware config {username} ...` to update its board"
    )
