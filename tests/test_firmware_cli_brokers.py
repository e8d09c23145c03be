"""`aedfleet firmware config` for a cabinet of the high-availability mode: one `--broker` per
cluster node gives the board its `brokers` list, which the firmware's own config accepts."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from aedfleet.cli import main
from aedfleet.simulator import firmware
from tests.support.harness import inventory_file


def test_one_broker_per_node_gives_the_board_its_brokers_list(tmp_path: Path) -> None:
    inventory = inventory_file(tmp_path / "inventory.csv", ["bz-bc-001"])
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    out = tmp_path / "bz-bc-001" / "config.json"
    nodes = ["n1.example.org:8883", "n2.example.org:8883", "n3.example.org:8883"]
    result = CliRunner().invoke(
        main,
        ["firmware", "config", "bz-bc-001", "--inventory", str(inventory), "--ca", str(ca),
         *[arg for node in nodes for arg in ("--broker", node)],
         "--wifi-ssid", "RedCross", "--out", str(out)],
        env={"AEDFLEET_WIFI_PASSWORD": "w", "AEDFLEET_CABINET_PASSWORD": "p"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert "broker" not in written
    assert written["brokers"] == [f"mqtts://{node}" for node in nodes]
    assert (out.parent / "ca.crt").read_bytes() == ca.read_bytes()
    merged = firmware.config.merge(written)  # what the board makes of it
    assert firmware.config.broker_urls(merged) == written["brokers"]
