"""Boards built from a deployment's collector.toml read the hourly aggregates for the part of
a range older than the raw retention; built without one, they read raw data only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aedfleet.dashboards.provisioning import dashboard_json
from aedfleet.dashboards.site import Site, site_from

TRENDS = ("Backup battery", "Temperature", "Wi-Fi signal")


def targets(site: Site) -> dict[str, list[dict[str, Any]]]:
    model = dashboard_json("cabinet", site)
    return {p["title"]: p["targets"] for p in model["panels"] if p["title"] in TRENDS}


def test_trends_read_the_aggregates_beyond_the_raw_retention(tmp_path: Path) -> None:
    config = tmp_path / "collector.toml"
    config.write_text('[retention]\nraw = "60d"\naggregates = ["1d", "1h"]\n')
    site = site_from(config)
    for title, (raw, older) in targets(site).items():
        assert 'FROM "telemetry"' in raw["query"], title
        assert older["refId"] == "B" and older["alias"] == raw["alias"] == title
        assert 'FROM "forever"."telemetry_1h"' in older["query"]
        assert "AND time < now() - 60d " in older["query"]


def test_without_a_configuration_or_with_retention_off_only_raw_data(tmp_path: Path) -> None:
    assert all(len(t) == 1 for t in targets(site_from(None)).values())
    config = tmp_path / "collector.toml"
    config.write_text("[retention]\nenabled = false\n")
    assert all(len(t) == 1 for t in targets(site_from(config)).values())
