"""The alert thresholds are defined once (aedfleet/alerts/settings.py): the collector's
[alerts] section embeds them, the sample configuration documents every one of them with its
default, and the dashboards colour by the same values."""

from __future__ import annotations

import tomllib
from pathlib import Path

import msgspec

from aedfleet.alerts.settings import Settings, Thresholds
from aedfleet.collector.config import AlertsConfig, load_config, settings_from
from aedfleet.dashboards.site import DEFAULT_SITE

SAMPLE = Path(__file__).parents[2] / "aedfleet" / "collector" / "aedfleet.sample.toml"


def test_the_sample_documents_every_alerts_key_with_its_default() -> None:
    sample = tomllib.loads(SAMPLE.read_text(encoding="utf-8"))["alerts"]
    defaults = msgspec.json.decode(msgspec.json.encode(AlertsConfig()))  # as TOML has them
    # broker_grace_s is shown commented out (its default is computed); cabinets by example
    documented = set(AlertsConfig.__struct_fields__) - {"broker_grace_s", "cabinets"}
    assert set(sample) == documented
    assert {key: defaults[key] for key in documented} == sample


def test_the_configuration_embeds_the_thresholds() -> None:
    assert set(Thresholds.__struct_fields__) <= set(AlertsConfig.__struct_fields__)
    fleet, cabinets = settings_from(load_config(None, environ={}))
    assert fleet == Settings()
    assert cabinets == {}


def test_every_threshold_can_be_set_in_the_configuration(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[fleet]\nutc_offset_minutes = 60\n"
                    "[alerts]\nrssi_weak_dbm = -90\nexpiry_warn_days = [45, 15]\n")  # fmt: skip
    fleet, _ = settings_from(load_config(path, environ={}))
    assert (fleet.rssi_weak_dbm, fleet.expiry_warn_days) == (-90, (45, 15))
    assert fleet.utc_offset_minutes == 60


def test_the_dashboards_default_to_the_same_thresholds() -> None:
    assert DEFAULT_SITE.alerts == Settings()
