"""`aedfleet dashboards build` and `check` as an operator runs them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from aedfleet.cli import main
from aedfleet.dashboards.check import all_queries
from aedfleet.services import LocalServices


def test_build_writes_the_provisioning_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["dashboards", "build", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = {Path(line).relative_to(tmp_path).as_posix() for line in result.output.split()}
    assert {"provisioning/datasources/aedfleet.yaml", "provisioning/dashboards/aedfleet.yaml",
            "dashboards/fleet-overview.json", "dashboards/maintenance.json"} <= written  # fmt: skip


@pytest.mark.services
def test_check_runs_every_query_and_reports_a_missing_database(
    services: LocalServices,
) -> None:
    url = services.influxdb.url
    missing = CliRunner().invoke(main, ["dashboards", "check", "--influx-url", url,
                                        "--database", "nowhere"])  # fmt: skip
    assert missing.exit_code == 1 and "database not found: nowhere" in missing.output
    httpx.post(f"{url}/query", params={"q": "CREATE DATABASE dashboards_empty"}).raise_for_status()
    empty = CliRunner().invoke(main, [
        "dashboards", "check", "--influx-url", url, "--database", "dashboards_empty",
        "--cabinet", "bz-bc-001",
    ])  # fmt: skip
    assert empty.exit_code == 0, empty.output  # every query is valid InfluxQL to InfluxDB 1.6
    lines = empty.output.splitlines()
    assert len(lines) == len(all_queries())
    assert all(line.split()[0] == "0" for line in lines)
