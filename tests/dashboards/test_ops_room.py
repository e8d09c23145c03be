"""What an ops room must be able to trust in the built JSON, checked against what Grafana
reads from it: the layout fits the grid, current state never follows the time picker, colours
sit where the site's alerts fire, links lead to the cabinet, and provisioning survives a copy."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from aedfleet.alerts.settings import Settings
from aedfleet.cli import main
from aedfleet.dashboards.alert_rules import CONTACT_POINT, RULE_UIDS
from aedfleet.dashboards.boards import DASHBOARDS
from aedfleet.dashboards.check import all_queries
from aedfleet.dashboards.grafana_host import GRAFANA_DASHBOARDS_PATH
from aedfleet.dashboards.provisioning import build, dashboard_json
from aedfleet.dashboards.site import Site, site_from

MODELS = {name: dashboard_json(name) for name in DASHBOARDS}
CURRENT_STATE = ("cabinet_state",)


def panels(name: str) -> dict[str, dict[str, Any]]:
    return {p["title"]: p for p in MODELS[name]["panels"]}


def load_yaml(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_no_panel_runs_past_the_grid_or_covers_another(name: str) -> None:
    boxes = [(p["title"], p["gridPos"]) for p in MODELS[name]["panels"]]
    for title, g in boxes:
        assert g["x"] >= 0 and g["y"] >= 0 and g["w"] > 0 and g["h"] > 0, title
        assert g["x"] + g["w"] <= 24, f"{title} runs past the 24-column grid"
    for (one, a), (other, b) in itertools.combinations(boxes, 2):
        apart = (a["x"] + a["w"] <= b["x"] or b["x"] + b["w"] <= a["x"]
                 or a["y"] + a["h"] <= b["y"] or b["y"] + b["h"] <= a["y"])  # fmt: skip
        assert apart, f"{one} and {other} overlap"


def test_current_state_reads_the_snapshot_over_a_fixed_window_not_the_picker() -> None:
    current = [q for q in all_queries() if "cabinet_state" in q.influxql]
    assert {q.dashboard for q in current} == {
        "aedfleet-fleet", "aedfleet-incidents", "aedfleet-cabinet", "aedfleet-maintenance",
        "aedfleet-wall",
    }  # fmt: skip
    for q in current:
        if not q.panel.startswith("variable:"):
            assert q.time_from_ms == 5 * 60_000, f"{q.dashboard} / {q.panel}"
    fleet = panels("fleet-overview")
    for title in ("Where the AEDs are, coloured by readiness", "Cabinets by readiness",
                  "Readiness per cabinet, problems first"):  # fmt: skip
        assert len(fleet[title]["targets"]) == 1, f"{title}: one query, no client-side join"
        assert "cabinet_state" in fleet[title]["targets"][0]["query"]
    # a stopped collector shows as stale: the count tiles say so instead of a frozen number
    assert fleet["Cabinets by readiness"]["fieldConfig"]["defaults"]["noValue"].startswith("stale")
    worklist = panels("maintenance")["Pads expiring in the next 90 days"]
    assert "readiness" not in worklist["targets"][0]["query"]


def test_a_slower_heartbeat_widens_the_window() -> None:
    assert Site(heartbeat_s=600).window == "30m"
    model = dashboard_json("wall", Site(heartbeat_s=600))
    assert {p["timeFrom"] for p in model["panels"]} == {"30m"}


def test_counts_are_one_row_of_per_state_sums_so_zero_reads_zero() -> None:
    [target] = panels("fleet-overview")["Cabinets by readiness"]["targets"]
    for state in ("available", "in_use", "not_ready", "offline"):
        assert f'sum("{state}")' in target["query"]


def test_fleet_table_puts_problems_first_and_shows_true_last_seen() -> None:
    table = panels("fleet-overview")["Readiness per cabinet, problems first"]
    assert table["options"]["sortBy"] == [{"displayName": "problem", "desc": True}]
    [target] = table["targets"]
    assert "ORDER BY time DESC LIMIT 1" in target["query"] and "last(" not in target["query"]
    names = {o["matcher"]["options"]: o["properties"] for o in table["fieldConfig"]["overrides"]}
    assert {"id": "unit", "value": "dateTimeFromNow"} in names["last_seen_ms"]


def test_readiness_stat_shows_the_state_string() -> None:
    stat = panels("cabinet")["Readiness"]
    assert stat["options"]["reduceOptions"]["fields"] == "/^state$/"


def test_trend_charts_draw_their_thresholds() -> None:
    for title in ("Backup battery", "Temperature", "Wi-Fi signal"):
        custom = panels("cabinet")[title]["fieldConfig"]["defaults"]["custom"]
        assert custom["thresholdsStyle"]["mode"] == "line+area", title


def thresholds_of(panel: dict[str, Any], field: str | None = None) -> list[float | None]:
    if field is None:
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    else:
        props = next(o["properties"] for o in panel["fieldConfig"]["overrides"]
                     if o["matcher"]["options"] == field)  # fmt: skip
        steps = next(p["value"]["steps"] for p in props if p["id"] == "thresholds")
    return [step["value"] for step in steps]


def test_thresholds_come_from_the_collector_configuration(tmp_path: Path) -> None:
    defaults = Settings()
    table = panels("fleet-overview")["Readiness per cabinet, problems first"]
    assert thresholds_of(table, "temp_c") == [None, defaults.temp_low_c, defaults.temp_high_c]
    assert thresholds_of(panels("cabinet")["Backup battery"]) == [None, 11.8, 12.2]
    config = tmp_path / "aedfleet.toml"
    config.write_text("[alerts]\ntemp_low_c = 5.0\nbatt_low_v = 11.5\nreadiness_every_s = 60\n")
    site = site_from(config)
    assert site.alerts.temp_low_c == 5.0
    fleet = {p["title"]: p for p in dashboard_json("fleet-overview", site)["panels"]}
    temperature = thresholds_of(fleet["Readiness per cabinet, problems first"], "temp_c")
    assert temperature == [None, 5.0, 50.0]
    cabinet = {p["title"]: p for p in dashboard_json("cabinet", site)["panels"]}
    assert thresholds_of(cabinet["Temperature"]) == [None, 5.0, 50.0]
    assert thresholds_of(cabinet["Backup battery"]) == [None, 11.5, 12.2]
    out = tmp_path / "grafana"
    result = CliRunner().invoke(main, ["dashboards", "build", "--out", str(out),
                                       "--config", str(config)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert '"value": 5.0' in (out / "dashboards/cabinet.json").read_text()


def test_map_and_tables_link_to_the_cabinet_keeping_the_time_range() -> None:
    for name, title in (("fleet-overview", "Where the AEDs are, coloured by readiness"),
                        ("fleet-overview", "Readiness per cabinet, problems first"),
                        ("incidents", "Open alerts"),
                        ("wall", "Cabinets that need someone")):  # fmt: skip
        overrides = panels(name)[title]["fieldConfig"]["overrides"]
        links = [p["value"] for o in overrides for p in o["properties"] if p["id"] == "links"]
        assert links, title
        url = links[0][0]["url"]
        assert url.startswith("/d/aedfleet-cabinet/") and "${__url_time_range}" in url
        assert "var-cabinet=${__data.fields.cabinet}" in url


def test_the_cabinet_picker_is_filtered_by_district() -> None:
    variables = MODELS["cabinet"]["templating"]["list"]
    assert [v["name"] for v in variables] == ["district", "cabinet"]
    assert '"district" =~ /^$district$/' in variables[1]["query"]
    # Grafana's variable regex: named groups `value` (what queries get) and `text` (shown)
    regex = variables[1]["regex"]
    assert regex.startswith("/") and regex.endswith("/")
    match = re.match(regex[1:-1].replace("(?<", "(?P<"), "bz-bc-001 People's Hospital AED")
    assert match and (match["value"], match["text"]) == ("bz-bc-001", "People's Hospital AED")


def test_openings_plot_one_mark_per_opening_not_the_sequence_number() -> None:
    [target] = panels("incidents")["Doors opened and AEDs removed"]["targets"]
    assert target["query"].startswith('SELECT "seq" * 0 + 1 AS "opening" FROM "event"')


def test_the_alert_annotation_is_the_form_grafana_migrates() -> None:
    [annotation] = MODELS["incidents"]["annotations"]["list"]
    assert "target" not in annotation
    assert annotation["textColumn"] == "summary" and annotation["query"]


def test_provisioning_points_grafana_at_its_own_folder_and_carries_alert_rules(
    tmp_path: Path,
) -> None:
    build(tmp_path)
    provider = load_yaml(tmp_path / "provisioning/dashboards/aedfleet.yaml")["providers"][0]
    assert provider["options"]["path"] == str(GRAFANA_DASHBOARDS_PATH)
    assert str(tmp_path) not in (tmp_path / "provisioning/dashboards/aedfleet.yaml").read_text()
    build(tmp_path, Path("/srv/grafana/aedfleet"))
    provider = load_yaml(tmp_path / "provisioning/dashboards/aedfleet.yaml")["providers"][0]
    assert provider["options"]["path"] == "/srv/grafana/aedfleet"
    alerting = load_yaml(tmp_path / "provisioning/alerting/aedfleet.yaml")
    assert alerting["apiVersion"] == 1
    [contact] = alerting["contactPoints"]
    assert contact["name"] == CONTACT_POINT
    assert contact["receivers"][0]["settings"]["url"] == "${AEDFLEET_GRAFANA_ALERT_WEBHOOK}"
    [group] = alerting["groups"]
    assert tuple(r["uid"] for r in group["rules"]) == RULE_UIDS
    for rule in group["rules"]:
        assert rule["noDataState"] == "Alerting"  # silence is the failure these rules watch
        assert rule["notification_settings"]["receiver"] == CONTACT_POINT
        refs = {d["refId"] for d in rule["data"]}
        assert rule["condition"] in refs and "$timeFilter" in rule["data"][0]["model"]["query"]
