"""The dashboards as Grafana will load them: built through the SDK's types, every panel on the
provisioned data source, every variable a query uses defined, the provisioning complete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.models.dashboard import Dashboard

from aedfleet.dashboards.boards import DASHBOARDS
from aedfleet.dashboards.check import all_queries, panel_queries
from aedfleet.dashboards.grafana_macros import render, variables_used
from aedfleet.dashboards.provisioning import build, dashboard_json
from aedfleet.dashboards.targets import DATASOURCE_UID

MODELS = {name: dashboard_json(name) for name in DASHBOARDS}


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_every_panel_and_query_uses_the_provisioned_data_source(name: str) -> None:
    model = MODELS[name]
    for panel in model["panels"]:
        assert panel["datasource"] == {"type": "influxdb", "uid": DATASOURCE_UID}, panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == DATASOURCE_UID
            assert target["rawQuery"] is True and target["query"].strip()
    for annotation in model.get("annotations", {}).get("list", []):
        assert annotation["datasource"]["uid"] == DATASOURCE_UID
    for variable in model.get("templating", {}).get("list", []):
        assert variable["datasource"]["uid"] == DATASOURCE_UID


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_every_variable_a_query_uses_is_defined(name: str) -> None:
    model = MODELS[name]
    defined = {v["name"] for v in model.get("templating", {}).get("list", [])}
    for q in panel_queries(model):
        assert variables_used(q.influxql) <= defined, f"{q.panel}: {q.influxql}"


def test_every_data_query_is_scoped_by_the_dashboard_range() -> None:
    for q in all_queries():
        if not q.panel.startswith("variable:"):
            assert "$timeFilter" in q.influxql, f"{q.dashboard} / {q.panel}"


def test_the_json_is_the_sdks_dashboard_model() -> None:
    uids = set()
    for name, model in MODELS.items():
        parsed = Dashboard.from_json(model)
        assert parsed.uid == model["uid"] and parsed.title == model["title"], name
        uids.add(model["uid"])
    assert len(uids) == len(MODELS)
    cabinet = MODELS["cabinet"]
    assert [v["name"] for v in cabinet["templating"]["list"]] == ["district", "cabinet"]


def test_the_ops_room_asks_for_what_the_programme_needs() -> None:
    fleet = MODELS["fleet-overview"]
    kinds = [p["type"] for p in fleet["panels"]]
    assert kinds[:4] == ["geomap", "stat", "timeseries", "table"]
    table = fleet["panels"][3]
    columns = " ".join(t["query"] for t in table["targets"])
    for wanted in ("state", "name", "batt_v", "temp_c", "pad_days", "batt_days"):
        assert wanted in columns
    incidents = MODELS["incidents"]
    assert incidents["annotations"]["list"][-1]["name"] == "Alert transitions"
    titles = {p["title"] for p in incidents["panels"]}
    assert {"Doors opened and AEDs removed", "Open alerts",
            "Notifications sent and failed"} <= titles  # fmt: skip


def load_yaml(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def test_the_provisioning_folder_is_complete_and_keeps_secrets_out(tmp_path: Path) -> None:
    build(tmp_path)
    source = load_yaml(tmp_path / "provisioning/datasources/aedfleet.yaml")["datasources"][0]
    assert source["uid"] == DATASOURCE_UID and source["type"] == "influxdb"
    assert source["url"] == "${AEDFLEET_INFLUX_URL}"
    assert source["jsonData"]["dbName"] == "${AEDFLEET_INFLUX_DATABASE}"
    assert source["secureJsonData"]["password"] == "${AEDFLEET_INFLUX_PASSWORD}"
    provider = load_yaml(tmp_path / "provisioning/dashboards/aedfleet.yaml")["providers"][0]
    assert Path(provider["options"]["path"]).is_absolute()  # where Grafana's host keeps them
    assert sorted(p.stem for p in (tmp_path / "dashboards").glob("*.json")) == sorted(DASHBOARDS)


def test_macros_are_substituted_as_grafana_does() -> None:
    day = 86_400_000
    text = render('SELECT mean("batt_v") FROM "telemetry" WHERE "cabinet" =~ /^$cabinet$/ '
                  "AND $timeFilter GROUP BY time($__interval)",
                  start_ms=day, end_ms=2 * day, variables={"cabinet": "bz-bc.001"})  # fmt: skip
    assert text == ('SELECT mean("batt_v") FROM "telemetry" WHERE "cabinet" =~ /^bz-bc\\.001$/ '
                    f"AND time >= {day}ms and time <= {2 * day}ms GROUP BY time(1m)")  # fmt: skip
    week = render("$__interval", start_ms=0, end_ms=7 * day)
    assert week == "10m"  # 604.8 s per point, rounded as Grafana rounds
    assert render("$__interval", start_ms=0, end_ms=3_600_000) == "1m"  # the data source floor
    both = render("/^${cabinet}$/", start_ms=0, end_ms=1, variables={"cabinet": ["a", "b"]})
    assert both == "/^(a|b)$/"
