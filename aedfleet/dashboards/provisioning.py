"""The dashboards as Grafana provisioning: a data source file whose URL, database and
credentials come from environment variables, a dashboard provider, the dead-man alert rules
and the dashboard JSON.

The provider's `path` is where the JSON lies on the Grafana host, not where it was built:
GRAFANA_DASHBOARDS_PATH unless `--dashboards-path` says otherwise, so the folder can be built
anywhere and copied."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from aedfleet.dashboards.alert_rules import rules
from aedfleet.dashboards.boards import DASHBOARDS, FOLDER
from aedfleet.dashboards.grafana_host import GRAFANA_DASHBOARDS_PATH
from aedfleet.dashboards.site import DEFAULT_SITE, Site
from aedfleet.dashboards.targets import DATASOURCE_UID

DATASOURCE_NAME: Final = "aedfleet InfluxDB"
# Grafana expands $VAR / ${VAR} in provisioning files from its own environment
ENVIRONMENT: Final = ("AEDFLEET_INFLUX_URL", "AEDFLEET_INFLUX_DATABASE",
                      "AEDFLEET_INFLUX_USERNAME", "AEDFLEET_INFLUX_PASSWORD",
                      "AEDFLEET_GRAFANA_ALERT_WEBHOOK")  # fmt: skip
# where the dashboards' JSON goes on the Grafana host (Debian/RPM packages' data folder)


def dashboard_json(name: str, site: Site = DEFAULT_SITE) -> dict[str, Any]:
    """One dashboard's JSON model, as the SDK's types encode it."""
    built = DASHBOARDS[name](site).build()
    encoded: dict[str, Any] = json.loads(json.dumps(built, cls=JSONEncoder))
    return encoded


def datasource() -> dict[str, Any]:
    return {
        "name": DATASOURCE_NAME,
        "uid": DATASOURCE_UID,
        "type": "influxdb",
        "access": "proxy",
        "url": "${AEDFLEET_INFLUX_URL}",
        "user": "${AEDFLEET_INFLUX_USERNAME}",
        "isDefault": False,
        "editable": False,
        "jsonData": {
            "version": "InfluxQL",
            "dbName": "${AEDFLEET_INFLUX_DATABASE}",
            "httpMode": "GET",
            "timeInterval": "60s",
        },
        "secureJsonData": {"password": "${AEDFLEET_INFLUX_PASSWORD}"},
    }


def build(out: Path, dashboards_path: Path | None = None, site: Site = DEFAULT_SITE) -> list[Path]:
    """Write `out/provisioning/{datasources,dashboards,alerting}/aedfleet.yaml` and the
    dashboards' JSON in `out/dashboards/`, which Grafana will read at `dashboards_path`."""
    json_dir = out / "dashboards"
    json_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in DASHBOARDS:
        path = json_dir / f"{name}.json"
        path.write_text(json.dumps(dashboard_json(name, site), indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")  # fmt: skip
        written.append(path)
    files = {
        out / "provisioning" / "datasources" / "aedfleet.yaml": {
            "apiVersion": 1,
            "datasources": [datasource()],
        },
        out / "provisioning" / "dashboards" / "aedfleet.yaml": {
            "apiVersion": 1,
            "providers": [{
                "name": "aedfleet", "folder": FOLDER, "type": "file",
                "disableDeletion": True, "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {"path": str(dashboards_path or GRAFANA_DASHBOARDS_PATH)},
            }],
        },
        out / "provisioning" / "alerting" / "aedfleet.yaml": rules(site),
    }  # fmt: skip
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "# written by aedfleet dashboards build; Grafana reads "
            + ", ".join(ENVIRONMENT) + " from its environment\n"
            + yaml.safe_dump(content, sort_keys=False, allow_unicode=True),
            encoding="utf-8",
        )  # fmt: skip
        written.append(path)
    return written
