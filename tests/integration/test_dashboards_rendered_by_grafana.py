"""The boards' panels as Grafana renders them, on the simulated fleet's data.

What is Grafana's code: `@grafana/data` 10.4 (tests/dashboards/grafana_render: package.json
and package-lock.json, installed here with `npm ci` once per lock into a cache folder) applies
each panel's transformations, field config, overrides, value mappings and stat reducers
(tests/dashboards/grafana_render/render.js says which functions).

What imitates Grafana: the frames handed to it are built here as Grafana's InfluxDB data
source builds them from InfluxDB's answer to the exact query the panel sends (macros
and `timeFrom` window substituted by aedfleet/dashboards/grafana_macros.py): for a
time-series query one frame per series and value column, the series' tags as the field's
labels; for a table-format query one table, its columns the time, the series' tags, then
the selected values, one row per point of every series (the data source's table response).
And the registration of the few standard field-config properties the boards use (render.js).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from aedfleet.dashboards.grafana_macros import ALL_VALUE, duration_ms, render
from aedfleet.dashboards.provisioning import dashboard_json
from tests.integration.conftest import FLEET_SIZE, FLEET_TIMEOUT, SimulatedFleet

pytestmark = [pytest.mark.slow, pytest.mark.services, FLEET_TIMEOUT]
RENDER = Path(__file__).parents[1] / "dashboards" / "grafana_render"
Frame = dict[str, Any]


def grafana_data_modules() -> Path:
    """node_modules holding the locked @grafana/data, installed once per lock (cached)."""
    lock = (RENDER / "package-lock.json").read_bytes()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "aedfleet"
    target = cache / f"grafana-render-{hashlib.sha256(lock).hexdigest()[:16]}"
    if not (target / "node_modules" / "@grafana" / "data").is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=cache))
        for name in ("package.json", "package-lock.json"):
            shutil.copy(RENDER / name, staging / name)
        npm = shutil.which("npm")
        assert npm, "Node.js and npm are needed to run Grafana's own @grafana/data"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                       cwd=staging, check=True, capture_output=True, timeout=600)  # fmt: skip
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return target / "node_modules"


@pytest.fixture(scope="module")
def node_modules() -> Path:
    return grafana_data_modules()


def field_type(values: list[Any]) -> str:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return "boolean"
    if present and all(isinstance(v, int | float) for v in present):
        return "number"
    return "string"


def frames_for(target: dict[str, Any], answer: dict[str, Any]) -> list[Frame]:
    """The InfluxDB data source's frames for one target's InfluxDB answer."""
    series = [s for r in answer["results"] for s in r.get("series", [])]
    ref = target["refId"]
    if target["resultFormat"] == "table":
        if not series:
            return []
        tags = list(series[0].get("tags", {}))
        values = [c for c in series[0]["columns"] if c != "time"]
        rows = [(s.get("tags", {}), dict(zip(s["columns"], v, strict=True)))
                for s in series for v in s["values"]]  # fmt: skip
        fields = [{"name": "Time", "type": "time", "values": [r["time"] for _, r in rows]}]
        fields += [{"name": t, "type": "string", "values": [tg.get(t) for tg, _ in rows]}
                   for t in tags]  # fmt: skip
        for column in values:
            column_values = [r[column] for _, r in rows]
            fields.append({"name": column, "type": field_type(column_values),
                           "values": column_values})  # fmt: skip
        return [{"refId": ref, "fields": fields}]
    frames = []
    for s in series:
        times = [v[0] for v in s["values"]]
        for index, column in enumerate(s["columns"][1:], start=1):
            column_values = [v[index] for v in s["values"]]
            frames.append({"refId": ref, "name": f"{s['name']}.{column}", "fields": [
                {"name": "Time", "type": "time", "values": times},
                {"name": "Value", "type": field_type(column_values), "values": column_values,
                 "labels": s.get("tags", {})},
            ]})  # fmt: skip
    return frames


def rendered(
    influx: str,
    fleet: SimulatedFleet,
    node_modules: Path,
    board: str,
    title: str,
    variables: dict[str, str | list[str]],
) -> dict[str, Any]:
    """Query as Grafana would, then Grafana's own code over the result."""
    panel = next(p for p in dashboard_json(board)["panels"] if p["title"] == title)
    outcome = fleet.outcome
    end = outcome.start_ms + outcome.simulated_ms + 60_000
    start = end - duration_ms(panel["timeFrom"]) if panel.get("timeFrom") else outcome.start_ms
    frames: list[Frame] = []
    for target in panel["targets"]:
        influxql = render(target["query"], start_ms=start, end_ms=end, variables=variables)
        params = {"db": outcome.database, "q": influxql, "epoch": "ms"}
        answer = httpx.get(f"{influx}/query", params=params, timeout=30).json()
        frames += frames_for(target, answer)
    done = subprocess.run(
        ["node", str(RENDER / "render.js")], input=json.dumps({"panel": panel, "frames": frames}),
        capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "NODE_PATH": str(node_modules)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def columns(frame: Frame) -> dict[str, list[Any]]:
    return {f["displayName"]: f["values"] for f in frame["fields"]}


def role(fleet: SimulatedFleet, scenario: str) -> str:
    return next(p.cabinet.id for p in fleet.outcome.plan if p.scenario.name == scenario)


def test_fleet_table_one_row_per_cabinet_with_its_true_last_seen(
    simulated_fleet: SimulatedFleet, influx: str, node_modules: Path
) -> None:
    shown = rendered(influx, simulated_fleet, node_modules, "fleet-overview",
                     "Readiness per cabinet, problems first", {})  # fmt: skip
    [table] = shown["frames"]
    cells = columns(table)
    assert len(cells["cabinet"]) == FLEET_SIZE == len(set(cells["cabinet"]))
    assert "Time" not in cells and "lat" not in cells  # organized away
    end = simulated_fleet.outcome.start_ms + simulated_fleet.outcome.simulated_ms + 60_000
    seen = dict(zip(cells["cabinet"], cells["last seen"], strict=True))
    assert all(end - 600_000 < ms <= end for ms in seen.values())  # not the range start
    assert len(set(seen.values())) > 100
    by_cabinet = {c: i for i, c in enumerate(cells["cabinet"])}
    drained = by_cabinet[role(simulated_fleet, "battery_drain")]
    assert cells["state"][drained] == "not_ready" and cells["problem"][drained] == 1
    text = {f["displayName"]: f["text"] for f in table["fields"]}
    assert text["state"][drained] == "not ready"  # the readiness value mapping
    assert text["problem"][drained] == "problem"
    assert cells["backup battery"][drained] < 11.8


def test_zero_count_tiles_read_zero(
    simulated_fleet: SimulatedFleet, influx: str, node_modules: Path
) -> None:
    shown = rendered(influx, simulated_fleet, node_modules, "fleet-overview",
                     "Cabinets by readiness", {})  # fmt: skip
    tiles = {tile["title"]: tile["text"] for tile in shown["stat"]}
    assert set(tiles) == {"available", "in use (opened)", "not ready", "offline"}
    assert tiles["in use (opened)"] == "0" and tiles["offline"] == "0"
    assert int(tiles["available"]) + int(tiles["not ready"]) == FLEET_SIZE


def test_cabinet_readiness_stat_shows_the_state(
    simulated_fleet: SimulatedFleet, influx: str, node_modules: Path
) -> None:
    drained = role(simulated_fleet, "battery_drain")
    shown = rendered(influx, simulated_fleet, node_modules, "cabinet", "Readiness",
                     {"cabinet": drained, "district": ALL_VALUE})  # fmt: skip
    assert [tile["text"] for tile in shown["stat"]] == ["not ready"]


def test_open_alerts_show_acknowledgement_and_silence_columns(
    simulated_fleet: SimulatedFleet, influx: str, node_modules: Path
) -> None:
    shown = rendered(influx, simulated_fleet, node_modules, "incidents", "Open alerts", {})
    [table] = shown["frames"]
    cells = columns(table)
    ajar = cells["cabinet"].index(role(simulated_fleet, "door_ajar"))
    assert cells["worst"][ajar] == "critical" and cells["unacked"][ajar] == 2
    assert {"acked", "silenced", "open since", "alerts"} <= set(cells)
