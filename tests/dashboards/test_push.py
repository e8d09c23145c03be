"""`aedfleet dashboards push` against a stand-in that checks requests as Grafana's HTTP API
documents them: created on the first push, updated in place on the next."""

from __future__ import annotations

from click.testing import CliRunner

from aedfleet.cli import main
from aedfleet.dashboards.boards import DASHBOARDS
from aedfleet.dashboards.targets import DATASOURCE_UID
from tests.support.fake_grafana import FakeGrafana

TOKEN = "glsa_test_token"


def push(url: str, token: str = TOKEN) -> tuple[int, str]:
    result = CliRunner().invoke(main, [
        "dashboards", "push", "--url", url, "--token", token,
        "--influx-url", "http://influxdb:8086", "--database", "aedfleet",
        "--username", "grafana", "--password", "s3cret",
    ])  # fmt: skip
    return result.exit_code, result.output


def test_push_creates_then_updates_in_place() -> None:
    grafana = FakeGrafana(TOKEN)
    with grafana.running() as url:
        code, output = push(url)
        assert code == 0, output
        assert "data source created, folder created" in output
        code, output = push(url)
        assert code == 0, output
        assert "data source updated, folder kept" in output
    assert grafana.refused == []
    assert list(grafana.datasources) == [DATASOURCE_UID]
    source = grafana.datasources[DATASOURCE_UID]
    assert source["url"] == "http://influxdb:8086" and source["user"] == "grafana"
    assert source["jsonData"]["dbName"] == "aedfleet"
    assert source["secureJsonData"] == {"password": "s3cret"}
    assert len(grafana.folders) == 1
    assert len(grafana.dashboards) == len(DASHBOARDS)
    assert {d["version"] for d in grafana.dashboards.values()} == {2}
    assert "dashboard aedfleet-fleet now at version 2" in output


def test_url_and_token_are_all_it_needs_on_grafanas_own_host() -> None:
    grafana = FakeGrafana(TOKEN)
    with grafana.running() as url:
        result = CliRunner().invoke(main, ["dashboards", "push", "--url", url, "--token", TOKEN],
                                    env={"AEDFLEET_INFLUX_URL": None})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert grafana.datasources[DATASOURCE_UID]["url"] == "http://localhost:8086"


def test_a_wrong_token_is_reported_and_nothing_is_uploaded() -> None:
    grafana = FakeGrafana(TOKEN)
    with grafana.running() as url:
        code, output = push(url, token="wrong")
    assert code == 1
    assert "Grafana refused" in output and "Unauthorized" in output
    assert grafana.datasources == {} and grafana.dashboards == {}
