"""`aedfleet firmware build|config|flash` as a technician uses them."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from aedfleet.cli import main
from tests.support.harness import inventory_file

pytestmark = pytest.mark.micropython


def test_build_writes_mpy_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["firmware", "build", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "app.mpy").exists() and (tmp_path / "main.py").exists()
    assert not (tmp_path / "board_sim.mpy").exists()


def test_config_writes_the_board_config_from_the_inventory(tmp_path: Path) -> None:
    inventory = inventory_file(tmp_path / "inventory.csv", ["bz-bc-001"])
    out = tmp_path / "config.json"
    result = CliRunner().invoke(
        main,
        ["firmware", "config", "bz-bc-001", "--inventory", str(inventory),
         "--broker", "mqtt://10.0.0.2:1883", "--wifi-ssid", "RedCross", "--out", str(out)],
        env={"AEDFLEET_WIFI_PASSWORD": "wifi-secret", "AEDFLEET_CABINET_PASSWORD": "p4ss"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    config = json.loads(out.read_text())
    assert config["id"] == "bz-bc-001" and config["username"] == "bz-bc-001"
    assert config["password"] == "p4ss" and config["wifi_password"] == "wifi-secret"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "p4ss" not in result.output and "wifi-secret" not in result.output


def test_config_for_an_unknown_cabinet_fails_clearly(tmp_path: Path) -> None:
    inventory = inventory_file(tmp_path / "inventory.csv", ["bz-bc-001"])
    result = CliRunner().invoke(
        main,
        ["firmware", "config", "bz-xx-999", "--inventory", str(inventory),
         "--broker", "mqtt://h:1883", "--wifi-ssid", "s", "--wifi-password", "w"],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "bz-xx-999 is not in the inventory" in result.output


def test_flash_without_a_board_says_which_port_failed(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text("{}")
    result = CliRunner().invoke(
        main,
        ["firmware", "flash", "--port", str(tmp_path / "ttyUSB9"), "--build", str(tmp_path / "b"),
         "--config", str(config)],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "mpremote failed on" in result.output and "ttyUSB9" in result.output
