"""`aedfleet coverage report` and `plan` as a programme's planner runs them, on the Binzhou demo
fleet and places; readiness from the real InfluxDB the collector writes to."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from aedfleet.cli import main
from aedfleet.coverage.geo import haversine_m
from aedfleet.services import LocalServices
from aedfleet.simulator.demo_fleet import demo_inventory

NOON = ["--all-ready", "--at", "2026-12-01 12:00"]
NIGHT = ["--all-ready", "--at", "2026-12-01 03:00"]
CST = datetime.timezone(datetime.timedelta(hours=8))


def _run(*arguments: str) -> str:
    result = CliRunner().invoke(main, ["coverage", *arguments])
    assert result.exit_code == 0, result.output
    return result.output


def test_report_at_noon_counts_every_district_and_names_the_sole_covers() -> None:
    out = _run("report", *NOON)
    assert "radius 150 m: 80 of 80 cabinets ready and accessible" in out
    table = {line.split()[0]: line.split()[1:] for line in out.splitlines()[3:11]}
    assert table["fleet"] == ["115", "145", "79.3", "79.1"]
    assert table["Huimin"] == ["16", "20", "80.0", "78.2"]
    assert "Uncovered places (30)" in out
    # each cabinet is the only cover of its own site; the three places between the two Huimin
    # cabinets have two covers, so neither is named for them
    sole = out.split("Sole cover (80 cabinets")[1].split("Not usable")[0]
    assert "Drum Tower Square" not in sole
    assert "Drum Tower Square" not in out.split("Sole cover")[0]
    assert "Not usable now (0 cabinets)" in out


def test_report_at_night_leaves_the_day_cabinets_places_uncovered() -> None:
    out = _run("report", *NIGHT)
    assert "55 of 80 cabinets ready and accessible" in out
    assert "bz-bc-003   Bincheng Bus Terminal AED: closed (06:00-22:00)" in out
    uncovered = out.split("Uncovered places")[1].split("Sole cover")[0]
    assert "Bincheng Bus Terminal (station, 24,000/day)" in uncovered
    assert "(in reach but not usable: bz-bc-003)" in uncovered


def test_map_and_geojson_are_written(tmp_path: Path) -> None:
    picture, geojson = tmp_path / "coverage.png", tmp_path / "coverage.geojson"
    _run("report", *NIGHT, "--map", str(picture), "--geojson", str(geojson))
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    collection = json.loads(geojson.read_text(encoding="utf-8"))
    kinds = [f["properties"]["feature"] for f in collection["features"]]
    assert (kinds.count("cabinet"), kinds.count("circle"), kinds.count("place")) == (80, 80, 145)
    for feature in collection["features"]:
        if feature["properties"]["feature"] == "circle":
            ring = feature["geometry"]["coordinates"][0]
            assert ring[0] == ring[-1]
            centre = next(c for c in demo_inventory() if c.id == feature["properties"]["cabinet"])
            assert all(
                haversine_m(centre.lat, centre.lon, lat, lon) == pytest.approx(150.0, abs=0.05)
                for lon, lat in ring
            )
            break
    assert collection["properties"]["covered"] == 81


def test_plan_adds_sites_in_order_of_weight_gained() -> None:
    out = _run("plan", "--add", "3", *NOON)
    lines = out.splitlines()
    assert lines[0] == "now: 115/145 places covered (79.3 %), weighted 79.1 %"
    steps = [line for line in lines if line.startswith("+")]
    assert len(steps) == 3
    # the busiest uncovered places first: coach stations of 37,800, 35,200, 29,300 a day
    assert steps[0].startswith("+1  Zouping Long-distance Coach Station (36.92130, 117.73620)")
    assert steps[1].startswith("+2  Zhanhua Long-distance Coach Station")
    assert "-> 116/145 places covered (80.0 %), weighted 81.5 %" in out
    assert "-> 116/145 places covered" in out and "-> 118/145 places covered" in out


def test_plan_with_a_candidates_file(tmp_path: Path) -> None:
    candidates = tmp_path / "sites.csv"
    candidates.write_text("name,lat,lon\nNowhere near,37.0,119.5\n", encoding="utf-8")
    out = _run("plan", "--add", "2", *NOON, "--candidates", str(candidates))
    assert "no candidate covers anything more after 0 sites" in out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["report", "--at", "2026-12-01 03:00"], "--influx-url"),
        (["report", "--all-ready", "--at", "3 am"], "expected '%Y-%m-%d %H:%M'"),
        (["report", "--all-ready", "--detour", "0.5"], "detour factor at least 1"),
    ],
)
def test_bad_options_are_refused(arguments: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["coverage", *arguments])
    assert result.exit_code in {1, 2}
    assert message in result.output


def test_a_bad_places_file_names_its_line(tmp_path: Path) -> None:
    places = tmp_path / "places.csv"
    places.write_text("id,name,kind,district,lat,lon,weight\nx,X,park,D,1,2,3\ny,Y,zoo,D,1,2,3\n",
                      encoding="utf-8")  # fmt: skip
    result = CliRunner().invoke(main, ["coverage", "report", "--all-ready",
                                       "--places", str(places)])  # fmt: skip
    assert result.exit_code == 1
    assert "places.csv:3: kind 'zoo'" in result.output


@pytest.mark.services
def test_readiness_comes_from_the_cabinet_state_points(services: LocalServices) -> None:
    url, database = services.influxdb.url, "coverage_report"
    httpx.post(f"{url}/query", params={"q": f"CREATE DATABASE {database}"}).raise_for_status()
    at = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=CST)
    at_ms = int(at.timestamp() * 1000)
    states = {c.id: "available" for c in demo_inventory()}
    states |= {"bz-hm-006": "not_ready", "bz-bc-001": "offline", "bz-zp-002": "in_use"}
    lines = [f'cabinet_state,cabinet={cabinet} state="{state}" {at_ms - 60_000}'
             for cabinet, state in states.items()]  # fmt: skip
    # an older point says bz-bc-002 was not ready: the newer one (available) wins; and a point
    # of bz-bc-003 after the moment asked for is not read
    lines += [f'cabinet_state,cabinet=bz-bc-002 state="not_ready" {at_ms - 120_000}',
              f'cabinet_state,cabinet=bz-bc-003 state="offline" {at_ms + 60_000}']  # fmt: skip
    httpx.post(f"{url}/write", params={"db": database, "precision": "ms"},
               content="\n".join(lines).encode()).raise_for_status()  # fmt: skip
    out = _run("report", "--influx-url", url, "--database", database, "--at", "2026-12-01 12:00")
    assert "77 of 80 cabinets ready and accessible" in out
    not_usable = out.split("Not usable now (3 cabinets):")[1]
    assert "bz-hm-006" in not_usable and "not_ready" in not_usable
    assert "bz-bc-001" in not_usable and "offline" in not_usable
    assert "bz-zp-002" in not_usable and "in_use" in not_usable
    assert "known for 80 of 80 cabinets" in out
    # Drum Tower Square keeps the other Huimin cabinet: covered, and bz-hm-007 now its sole cover
    sole = out.split("Sole cover")[1].split("Not usable")[0]
    assert "bz-hm-007" in sole and "Huimin Drum Tower Square" in sole
    # ten minutes later nothing was written: no cabinet is known, so none is ready
    later = _run("report", "--influx-url", url, "--database", database, "--at", "2026-12-01 12:10")
    assert "0 of 80 cabinets ready" in later and "known for 0 of 80 cabinets" in later
