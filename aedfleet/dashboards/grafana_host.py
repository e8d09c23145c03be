"""Where the dashboards lie on the Grafana host, unless `--dashboards-path` says otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Final

GRAFANA_DASHBOARDS_PATH: Final = Path("/var/lib/grafana/dashboards/aedfleet")
