"""`aedfleet firmware flash` in the documented layout (per-cabinet config folders inside the
build folder), with mpremote replaced by a recorder that answers as an ESP32 would: no board
is attached here, so what is proven is the argv mpremote gets."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from aedfleet.cli import main
from tests.support.harness import inventory_file

pytestmark = pytest.mark.micropython
ESP32_MPY = 6 | (10 << 10)  # MicroPython 1.23+ on the ESP32: .mpy 6, arch xtensawin


def fake_mpremote(bin_dir: Path, answer_mpy: int) -> Path:
    record = bin_dir / "argv.jsonl"
    script = bin_dir / "mpremote"
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import json, sys\n"
        f"open({str(record)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        f"if 'exec' in sys.argv: print('MPY {answer_mpy}')\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return record


def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer_mpy: int) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = fake_mpremote(bin_dir, answer_mpy)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(tmp_path)
    inventory = inventory_file(tmp_path / "inventory.csv", ["bz-bc-001"])
    result = CliRunner().invoke(
        main,
        ["firmware", "config", "bz-bc-001", "--inventory", str(inventory),
         "--broker", "mqtt://10.0.0.2:1883", "--wifi-ssid", "RedCross"],
        env={"AEDFLEET_WIFI_PASSWORD": "w", "AEDFLEET_CABINET_PASSWORD": "p"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return record


def flash(tmp_path: Path) -> Result:
    return CliRunner().invoke(
        main,
        ["firmware", "flash", "--port", "/dev/ttyUSB0",
         "--config", ".run/firmware/bz-bc-001/config.json"],
    )  # fmt: skip


def test_flash_copies_exactly_the_built_files_after_holding_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = layout(tmp_path, monkeypatch, ESP32_MPY)
    result = flash(tmp_path)
    assert result.exit_code == 0, result.output
    hold, copy = [json.loads(line) for line in record.read_text().splitlines()]
    assert hold[:3] == ["connect", "/dev/ttyUSB0", "exec"]
    assert "open('hold', 'w')" in hold[3] and "'app.py'" in hold[3]  # stale .py removed
    assert hold[-1] == "reset"
    copied = [copy[i + 2] for i, word in enumerate(copy) if word == "cp"]
    built = sorted(p.name for p in (tmp_path / ".run/firmware").iterdir() if p.is_file())
    assert sorted(copied) == sorted([f":{name}" for name in built] + [":config.json"])
    assert ":bz-bc-001" not in " ".join(copy)  # the cabinet's folder is not copied
    assert copy[-4:] == ["rm", ":hold", "+", "reset"]


def test_a_board_with_an_older_micropython_is_left_holding_and_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = layout(tmp_path, monkeypatch, 5 | (10 << 10))
    result = flash(tmp_path)
    assert result.exit_code != 0
    assert "loads .mpy version" in result.output
    assert len(record.read_text().splitlines()) == 1  # no copy attempted


def test_config_defaults_to_tls_and_puts_the_fleet_ca_beside_it(tmp_path: Path) -> None:
    inventory = inventory_file(tmp_path / "inventory.csv", ["bz-bc-001"])
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    out = tmp_path / "bz-bc-001" / "config.json"
    result = CliRunner().invoke(
        main,
        ["firmware", "config", "bz-bc-001", "--inventory", str(inventory),
         "--broker", "10.0.0.2:8883", "--ca", str(ca), "--wifi-ssid", "RedCross",
         "--out", str(out)],
        env={"AEDFLEET_WIFI_PASSWORD": "w", "AEDFLEET_CABINET_PASSWORD": "p"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["broker"] == "mqtts://10.0.0.2:8883"
    assert (out.parent / "ca.crt").read_bytes() == ca.read_bytes()
