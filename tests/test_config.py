from __future__ import annotations

from pathlib import Path

import pytest

from aedfleet.collector.config import ConfigError, load_config, settings_from
from aedfleet.collector.inventory import InventoryError, load_inventory
from tests.support.harness import inventory_file

SAMPLE = Path(__file__).parent.parent / "aedfleet" / "collector" / "aedfleet.sample.toml"


def test_sample_config_loads_and_equals_the_defaults() -> None:
    assert load_config(SAMPLE, environ={}) == load_config(None, environ={})


def test_environment_overrides_secrets(tmp_path: Path) -> None:
    config = load_config(
        SAMPLE,
        environ={"AEDFLEET_INFLUX_PASSWORD": "s3cret", "AEDFLEET_MQTT_CLIENT_ID": "collector-2"},
    )
    assert config.influx.password == "s3cret"
    assert config.mqtt.client_id == "collector-2"


def test_unknown_key_is_refused_at_start_up(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[influx]\nbatch_point = 10\n")
    with pytest.raises(ConfigError, match="batch_point"):
        load_config(path, environ={})


def test_wrong_type_is_refused_with_the_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[influx]\nbatch_points = -5\n")
    with pytest.raises(ConfigError, match="batch_points"):
        load_config(path, environ={})


def test_inventory_round_trips(tmp_path: Path) -> None:
    inventory = load_inventory(inventory_file(tmp_path / "inv.csv", ["bz-bc-001", "bz-bc-002"]))
    assert sorted(inventory) == ["bz-bc-001", "bz-bc-002"]
    assert inventory["bz-bc-002"].district == "Zhanhua"


def test_inventory_error_names_the_row(tmp_path: Path) -> None:
    path = inventory_file(tmp_path / "inv.csv", ["bz-bc-001", "bz-bc-002"])
    path.write_text(path.read_text().replace("bz-bc-002", "BAD ID"))
    with pytest.raises(InventoryError, match=r"inv.csv:3: .*\$\.id"):
        load_inventory(path)


def test_inventory_refuses_a_cabinet_listed_twice(tmp_path: Path) -> None:
    path = inventory_file(tmp_path / "inv.csv", ["bz-bc-001", "bz-bc-001"])
    with pytest.raises(InventoryError, match="listed twice"):
        load_inventory(path)


def test_alert_thresholds_can_be_set_per_cabinet(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[alerts]\ntemp_low_c = 2.0\n[alerts.cabinets.bz-hm-012]\ntemp_low_c = -5.0\n")
    fleet, cabinets = settings_from(load_config(path, environ={}))
    assert fleet.temp_low_c == 2.0
    assert cabinets["bz-hm-012"].temp_low_c == -5.0
    assert cabinets["bz-hm-012"].temp_high_c == fleet.temp_high_c


def test_unknown_per_cabinet_threshold_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[alerts.cabinets.bz-hm-012]\ntemp_lo = -5.0\n")
    with pytest.raises(ConfigError, match="temp_lo"):
        settings_from(load_config(path, environ={}))
