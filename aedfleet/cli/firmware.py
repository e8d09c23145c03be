"""`aedfleet firmware`: build, configure and flash the cabinet firmware."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


@click.group()
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
    from aedfleet import firmware_tools

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
    "brokers",
    required=True,
    multiple=True,
    help="host:port as the cabinet reaches it: mqtts:// (TLS) unless mqtt:// is written. "
    "Repeat it for each node of a cluster (docs/ha.md): the cabinet tries them in turn.",
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
@click.option(
    "--ota-key",
    default="",
    help="The release key's public half (from `firmware release-key`): updates over the air.",
)
def firmware_config(
    cabinet_id: str,
    inventory: Path,
    brokers: tuple[str, ...],
    ca_path: Path,
    wifi_ssid: str,
    wifi_password: str,
    password: str,
    out: Path | None,
    ota_key: str,
) -> None:
    """Write one cabinet's board config.json from the inventory (mode 600: it holds secrets).

    Example: aedfleet firmware config bz-bc-001 --inventory inventory.csv
    --broker mqtts://mqtt.example.org:8883 --ca .run/broker/ca.crt --wifi-ssid RedCross
    """
    from aedfleet import firmware_tools
    from aedfleet.collector.inventory import InventoryError, load_inventory

    urls = [firmware_tools.broker_url(broker) for broker in brokers]
    tls = any(url.startswith("mqtts://") for url in urls)
    if tls and not ca_path.is_file():
        raise click.ClickException(f"no fleet CA at {ca_path}: run `aedfleet broker config`")
    try:
        config = firmware_tools.board_config(
            load_inventory(inventory),
            cabinet_id,
            broker=urls[0] if len(urls) == 1 else urls,
            wifi_ssid=wifi_ssid,
            wifi_password=wifi_password,
            password=password,
            extra={"ota_key": ota_key} if ota_key else None,
        )
    except (firmware_tools.FirmwareError, InventoryError) as error:
        raise click.ClickException(str(error)) from error
    target = out or Path(".run/firmware") / cabinet_id / "config.json"
    firmware_tools.write_board_config(config, target)
    if tls:
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
    from aedfleet import firmware_tools

    try:
        built = firmware_tools.build(build_dir)
        firmware_tools.flash(port, built, config_path)
    except firmware_tools.FirmwareError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"flashed {port}")


RELEASE_KEY = Path(".run/release/release.key")


@firmware.command("release-key")
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=RELEASE_KEY,
    show_default=True,
)
def firmware_release_key(key_path: Path) -> None:
    """Make the fleet's release signing key (owner-only; keep it offline) and print its
    public half for every cabinet's config (`firmware config --ota-key`).

    Example: aedfleet firmware release-key --key /media/offline/release.key
    """
    from aedfleet import firmware_release, firmware_tools

    try:
        public = firmware_release.new_key(key_path)
    except firmware_tools.FirmwareError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"wrote {key_path}; ota_key for every cabinet: {public}")


@firmware.command("release")
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=RELEASE_KEY,
    show_default=True,
)
@click.option(
    "--releases",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".run/releases"),
    show_default=True,
)
def firmware_release_command(key_path: Path, releases: Path) -> None:
    """Build the firmware, hash and sign its modules and keep them in RELEASES/<version>
    (the version is FIRMWARE_VERSION in firmware/config.py; a version is released once).

    Example: aedfleet firmware release --key /media/offline/release.key
    """
    from aedfleet import firmware_release, firmware_tools

    try:
        made = firmware_release.release(key_path, releases)
    except firmware_tools.FirmwareError as error:
        raise click.ClickException(str(error)) from error
    size = sum(len(data) for data in made.files.values())
    click.echo(f"release {made.version}: {len(made.files)} files, {size} bytes, signed, in "
               f"{releases / made.version}")  # fmt: skip


@firmware.command("rollout")
@click.argument("version")
@click.option(
    "--releases",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".run/releases"),
    show_default=True,
)
@click.option(
    "--inventory",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The cabinet inventory CSV (districts and places plan the waves). Not for status.",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".run/collector/state"),
    show_default=True,
    help="The collector's state folder: the rollout is kept in its SQLite database.",
)
@click.option("--broker", default="mqtt://127.0.0.1:1883", show_default=True)
@click.option(
    "--ca",
    "ca_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(".run/broker/ca.crt"),
    show_default=True,
    help="The fleet CA, for an mqtts:// broker.",
)
@click.option("--username", default="aedfleet-operator", show_default=True)
@click.option("--password", envvar="AEDFLEET_OPERATOR_PASSWORD", default="", help="Or the env.")
@click.option("--soak-s", type=click.IntRange(0, 7 * 86400), default=3600, show_default=True)
@click.option(
    "--max-failure-share",
    type=click.FloatRange(0, 1),
    default=0.1,
    show_default=True,
    help="A wave with more failures than this share halts the rollout (wave 1: any).",
)
@click.option("--report-s", type=click.IntRange(60, 86400), default=1800, show_default=True)
@click.option("--tick-s", type=click.FloatRange(0.1, 600), default=5.0, show_default=True)
def firmware_rollout(
    version: str,
    releases: Path,
    inventory: Path | None,
    state_dir: Path,
    broker: str,
    ca_path: Path,
    username: str,
    password: str,
    soak_s: int,
    max_failure_share: float,
    report_s: int,
    tick_s: float,
) -> None:
    """Roll a release out in waves (one cabinet, 5 %, 25 %, the rest), each soaking before
    the next, halting when a wave fails; `rollout status` shows the latest rollout. Run it
    again after a stop: it goes on from the state kept in the collector's database.

    Example: aedfleet firmware rollout 1.1.0 --inventory inventory.csv --soak-s 3600
    """
    import asyncio

    from aedfleet import firmware_release, firmware_tools
    from aedfleet.collector.inventory import InventoryError, load_inventory
    from aedfleet.rollout import driver, plan
    from aedfleet.rollout.store import RolloutStore

    store = RolloutStore(state_dir)
    try:
        if version == "status":
            latest = store.latest()
            if latest is None:
                raise click.ClickException("no rollout yet")
            click.echo(_status_text(latest))
            return
        rollout = store.load(version)
        if rollout is None:
            if inventory is None:
                raise click.ClickException("a new rollout needs --inventory")
            try:
                sites = plan.sites_of(load_inventory(inventory).values())
            except InventoryError as error:
                raise click.ClickException(str(error)) from error
            policy = plan.Policy(soak_s, max_failure_share, report_s)
            rollout = plan.Rollout(version, plan.plan_waves(sites), policy)
        try:
            made = firmware_release.load(releases / version)
        except OSError as error:
            raise click.ClickException(f"no release {version} in {releases}") from error
        host, port, tls = firmware_tools.parse_broker_url(broker)
        context = None
        if tls:
            from aedfleet.simulator import firmware as loaded

            context = loaded.link.tls_context(str(ca_path))
        target = driver.Broker(host, port, username, password, tls=context)
        finished = asyncio.run(driver.Driver(rollout, made, store, target, click.echo).run(tick_s))
        click.echo(_status_text(finished))
        if finished.phase == plan.HALTED:
            raise click.ClickException(finished.reason)
    finally:
        store.close()


def _status_text(rollout: Any) -> str:
    why = f" ({rollout.reason})" if rollout.reason else ""
    lines = [
        f"rollout {rollout.version}: {rollout.phase}, wave {rollout.wave + 1} of "
        f"{len(rollout.waves)}{why}"
    ]
    for index, row in enumerate(rollout.counts()):
        counts = ", ".join(f"{state} {count}" for state, count in row.items() if count)
        lines.append(f"  wave {index + 1} ({len(rollout.waves[index])}): {counts}")
    versions = ", ".join(f"{fw} {count}" for fw, count in rollout.versions().items())
    lines.append(f"  versions: {versions}")
    return "\n".join(lines)
