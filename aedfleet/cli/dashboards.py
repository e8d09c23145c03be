"""`aedfleet dashboards`: Grafana provisioning, upload, and query check."""

from __future__ import annotations

import time
from pathlib import Path

import click

from aedfleet.dashboards.grafana_host import GRAFANA_DASHBOARDS_PATH
from aedfleet.dashboards.grafana_macros import ALL_VALUE


@click.group()
def dashboards() -> None:
    """Grafana dashboards for the ops room: provisioning files, upload, query check.

    Example: aedfleet dashboards build --out grafana
    """


@dashboards.command("build")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write provisioning/ and dashboards/ into.",
)
@click.option(
    "--dashboards-path",
    type=click.Path(path_type=Path),
    default=None,
    help="Where the dashboard JSON will lie on the Grafana host: copy OUT/dashboards/*.json "
    f"there (default: {GRAFANA_DASHBOARDS_PATH}).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="The collector's configuration: the boards colour values where its alerts fire.",
)
def dashboards_build(out: Path, dashboards_path: Path | None, config_path: Path | None) -> None:
    """Write Grafana provisioning: the InfluxDB data source (credentials from environment
    variables), the dashboard provider, the dead-man alert rules and the dashboards' JSON.

    Example: aedfleet dashboards build --out grafana --config aedfleet.toml
    """
    from aedfleet.collector.config import ConfigError
    from aedfleet.dashboards import provisioning
    from aedfleet.dashboards.site import site_from

    try:
        board_site = site_from(config_path)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    for path in provisioning.build(out, dashboards_path, board_site):
        click.echo(path)


@dashboards.command("push")
@click.option("--url", required=True, help="Grafana's URL, e.g. http://grafana:3000")
@click.option(
    "--token",
    envvar="AEDFLEET_GRAFANA_TOKEN",
    required=True,
    help="A service account token (or AEDFLEET_GRAFANA_TOKEN).",
)
@click.option(
    "--influx-url",
    envvar="AEDFLEET_INFLUX_URL",
    default="http://localhost:8086",
    show_default=True,
    help="InfluxDB as Grafana reaches it (or AEDFLEET_INFLUX_URL).",
)
@click.option(
    "--database", envvar="AEDFLEET_INFLUX_DATABASE", default="aedfleet", show_default=True
)
@click.option("--username", envvar="AEDFLEET_INFLUX_USERNAME", default="")
@click.option("--password", envvar="AEDFLEET_INFLUX_PASSWORD", default="")
def dashboards_push(url: str, token: str, influx_url: str, database: str, username: str,
                    password: str) -> None:  # fmt: skip
    """Upload the data source, folder and dashboards to a running Grafana; run it again after
    an upgrade: it updates them in place.

    Example: AEDFLEET_GRAFANA_TOKEN=glsa_... aedfleet dashboards push --url http://grafana:3000
    --influx-url http://influxdb:8086
    """
    from grafana_client.client import GrafanaException

    from aedfleet.dashboards import push

    try:
        pushed = push.push(url, token, influx_url=influx_url, database=database,
                           username=username, password=password)  # fmt: skip
    except GrafanaException as error:
        raise click.ClickException(f"Grafana refused: {error}") from error
    click.echo(f"data source {pushed.datasource}, folder {pushed.folder}")
    for uid, version in pushed.dashboards.items():
        click.echo(f"dashboard {uid} now at version {version}")


@dashboards.command("check")
@click.option("--influx-url", envvar="AEDFLEET_INFLUX_URL", required=True)
@click.option(
    "--database", envvar="AEDFLEET_INFLUX_DATABASE", default="aedfleet", show_default=True
)
@click.option(
    "--hours",
    type=float,
    default=24.0,
    show_default=True,
    help="The dashboard time range: the last HOURS hours.",
)
@click.option("--cabinet", default="", help="Value for the cabinet dashboard's variable.")
@click.option("--district", default=ALL_VALUE, help="Value for the district variable (all).")
def dashboards_check(
    influx_url: str, database: str, hours: float, cabinet: str, district: str
) -> None:
    """Run every panel's, annotation's and variable's query against InfluxDB as Grafana
    would, and show how many rows each returns.

    Example: aedfleet dashboards check --influx-url http://127.0.0.1:8086 --cabinet bz-bc-001
    """
    import httpx

    from aedfleet.dashboards import check
    from aedfleet.influx_query import InfluxQLError

    end_ms = int(time.time() * 1000)
    try:
        results = check.run(influx_url, database, start_ms=end_ms - int(hours * 3_600_000),
                            end_ms=end_ms, variables={"cabinet": cabinet,
                                                       "district": district})  # fmt: skip
    except (InfluxQLError, httpx.HTTPError) as error:
        raise click.ClickException(str(error)) from error
    for q, rows in results:
        click.echo(f"{len(rows):6} rows  {q.dashboard} / {q.panel} [{q.ref_id}]")
