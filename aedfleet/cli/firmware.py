"""`aedfleet firmware`: build, configure and flash the cabinet firmware."""

from __future__ import annotations

from pathlib import Path

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
    from aedfleet import firmware_tools
    from aedfleet.collector.inventory import InventoryError, load_inventory

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
    from aedfleet import firmware_tools

    try:
        built = firmware_tools.build(build_dir)
        firmware_tools.flash(port, built, config_path)
    except firmware_tools.FirmwareError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"flashed {port}")
