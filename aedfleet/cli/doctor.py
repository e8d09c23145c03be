"""`aedfleet doctor`: one line per check of a running deployment; non-zero when one fails."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The collector's configuration (secrets from the environment, as the unit has them).",
)
@click.option(
    "--broker-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The broker folder deploy wrote (default: broker/ beside --config).",
)
@click.option(
    "--ntp-server", default="pool.ntp.org", show_default=True, help="HOST[:PORT] to compare with."
)
def doctor(config_path: Path, broker_dir: Path | None, ntp_server: str) -> None:
    """Check a deployment: broker TLS and certificate, the collector's accounts, InfluxDB and
    its retention policies, the SMS provider's keys, the clock, disk for the spool, the
    inventory, and that every cabinet was heard from in the last day. Exits 1 when a check
    fails, so monitoring can run it.

    Example: sudo sh -c 'set -a; . /etc/aedfleet/aedfleet.env; aedfleet doctor --config
    /etc/aedfleet/collector.toml'
    """
    from aedfleet.collector.config import ConfigError, load_config
    from aedfleet.deploy.doctor import Deployment, run_checks
    from aedfleet.deploy.sms_check import check_sms

    try:
        config = load_config(config_path)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    folder = broker_dir or config_path.parent / "broker"
    deployment = Deployment(config, folder if folder.is_dir() else None, ntp_server)
    checks = run_checks(deployment, check_sms)
    for check in checks:
        click.echo(check.line())
    if any(check.ok is False for check in checks):
        raise SystemExit(1)
