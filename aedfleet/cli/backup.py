"""`aedfleet backup` and `aedfleet restore`: the collector's alert store and spool."""

from __future__ import annotations

from pathlib import Path

import click

_CONFIG = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The collector's configuration: where its state and spool are.",
)


def _sqlite_only(store: str) -> None:
    if store:
        raise click.ClickException(
            "the alert store is PostgreSQL ([alerts] store): back it up and restore it with"
            " pg_dump and pg_restore (docs/ha.md); these commands hold the SQLite store"
        )


@click.command()
@_CONFIG
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The backup file to write (mode 0600: it holds phone numbers).",
)
def backup(config_path: Path, out: Path) -> None:
    """Copy the alert store (consistently, while the collector runs) and the spool into one
    file. InfluxDB is backed up with `influxd backup -portable` (docs/storage.md).

    Example: sudo -u aedfleet aedfleet backup --config /etc/aedfleet/collector.toml
    --out /var/backups/aedfleet-$(date +%F).tar.gz
    """
    from aedfleet.collector.config import ConfigError, load_config
    from aedfleet.deploy.backup import BackupError, describe, take

    try:
        config = load_config(config_path)
        _sqlite_only(config.alerts.store)
        manifest = take(Path(config.alerts.state_dir), Path(config.spool.dir), out)
    except (ConfigError, BackupError, OSError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{out}: {describe(manifest)}")


@click.command()
@_CONFIG
@click.argument("backup_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--replace", is_flag=True, help="Replace an existing store and spool.")
def restore(config_path: Path, backup_file: Path, replace: bool) -> None:
    """Put a backup's alert store and spool back, with the collector stopped. Batches restored
    to the spool are written to InfluxDB again: harmless, a point overwrites itself.

    Example: sudo systemctl stop aedfleet-collector; sudo aedfleet restore --config
    /etc/aedfleet/collector.toml backup.tar.gz --replace; sudo systemctl start aedfleet-collector
    """
    import httpx

    from aedfleet.alerts.migrations import CURRENT
    from aedfleet.collector.config import ConfigError, load_config
    from aedfleet.deploy.backup import BackupError, describe
    from aedfleet.deploy.backup import restore as put_back

    try:
        config = load_config(config_path)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    _sqlite_only(config.alerts.store)
    if config.http.listen:
        try:
            httpx.get(f"http://{config.http.listen}/healthz", timeout=2)
        except httpx.HTTPError:
            pass  # nothing answers: stopped
        else:
            raise click.ClickException(
                f"the collector answers on {config.http.listen}: stop it first "
                "(systemctl stop aedfleet-collector)"
            )
    try:
        manifest = put_back(backup_file, Path(config.alerts.state_dir), Path(config.spool.dir),
                            newest_schema=CURRENT, replace=replace)  # fmt: skip
    except (BackupError, OSError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"restored {describe(manifest)}; the collector migrates the store at start")
