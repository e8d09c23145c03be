"""Issue 14, item 2, against the real collector: nothing silences or acknowledges without the
token, a web page cannot reach the API (foreign Host, foreign Origin, text/plain), silences are
bounded and checked, and every acknowledgement and silence is recorded by the token's name, in
InfluxDB too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from aedfleet.cli import main
from aedfleet.collector.clock import wall_ms
from aedfleet.collector.topics import topic_for
from aedfleet.services import LocalServices
from tests.support.harness import CollectorProcess, operator_client, rows_so_far, wait_for

pytestmark = pytest.mark.services
A, B = "bz-bc-001", "bz-bc-002"
SILENCE = {"cabinet": A, "minutes": 60, "reason": "pads replaced"}


@pytest.fixture(scope="module")
def collector(
    services: LocalServices, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CollectorProcess]:
    started = CollectorProcess(services, tmp_path_factory.mktemp("api"), database="api_auth",
                               ids=[A, B])  # fmt: skip
    started.process.start()
    yield started
    started.process.stop()


def url(collector: CollectorProcess, path: str) -> str:
    return f"http://127.0.0.1:{collector.http_port}{path}"


def bearer(collector: CollectorProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {collector.http_token}"}


def test_every_state_change_without_the_token_is_refused(collector: CollectorProcess) -> None:
    changes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "/silences", SILENCE),
        ("POST", "/alerts/ack", {"cabinet": A, "rule": "opened"}),
        ("DELETE", "/silences/abc", None),
    ]
    for method, path, body in changes:
        for headers in ({}, {"Authorization": "Bearer wrong-token-of-enough-length"},
                        {"Authorization": f"Basic {collector.http_token}"}):  # fmt: skip
            answer = httpx.request(method, url(collector, path), json=body, headers=headers)
            assert answer.status_code == 401, (method, path, headers, answer.text)
    assert httpx.get(url(collector, "/silences")).json() == []
    # probes and scrapers need nothing
    assert httpx.get(url(collector, "/healthz")).status_code == 200
    assert httpx.get(url(collector, "/metrics")).status_code == 200


def test_a_web_page_cannot_reach_the_api(collector: CollectorProcess) -> None:
    token = bearer(collector)
    # DNS rebinding: the page's own name now points here; the browser sends that Host
    rebound = httpx.post(url(collector, "/silences"), json=SILENCE,
                         headers={**token, "Host": "evil.example:9108"})  # fmt: skip
    assert rebound.status_code == 421
    assert (
        httpx.get(url(collector, "/readiness"), headers={"Host": "evil.example"}).status_code == 421
    )
    cross_site = httpx.post(url(collector, "/silences"), json=SILENCE,
                            headers={**token, "Origin": "http://evil.example"})  # fmt: skip
    assert cross_site.status_code == 403
    # a form or fetch() without a preflight can only send text/plain and the like
    plain = httpx.post(url(collector, "/silences"), content=json.dumps(SILENCE),
                       headers={**token, "Content-Type": "text/plain"})  # fmt: skip
    assert plain.status_code == 415
    assert httpx.get(url(collector, "/silences")).json() == []


def test_silences_are_bounded_and_checked_against_inventory_and_rules(
    collector: CollectorProcess,
) -> None:
    token = bearer(collector)
    wrongs: list[dict[str, object]] = [
        {"minutes": 525_600}, {"minutes": 0}, {"cabinet": "zz-zz-999"}, {"rule": "no_such_rule"},
        {"reason": "x" * 100_000}, {"reason": "ok\u202eevil"}, {"reason": ""},
    ]  # fmt: skip
    for change in wrongs:
        wrong = {**SILENCE, **change}
        answer = httpx.post(url(collector, "/silences"), json=wrong, headers=token)
        assert answer.status_code == 400, (list(change), answer.text)
    assert httpx.get(url(collector, "/silences")).json() == []


def test_with_the_token_a_silence_is_made_listed_lifted_and_recorded_by_its_name(
    collector: CollectorProcess,
) -> None:
    made = httpx.post(url(collector, "/silences"), json={"cabinet": B, "reason": "new pads"},
                      headers=bearer(collector))  # fmt: skip
    assert made.status_code == 200, made.text
    silence = made.json()
    assert silence["by"] == "operator"
    assert 0 < silence["until_ms"] - wall_ms() <= 24 * 3_600_000  # the default: 24 h
    assert [s["id"] for s in httpx.get(url(collector, "/silences")).json()] == [silence["id"]]
    runner = CliRunner(env={"AEDFLEET_HTTP_TOKEN": collector.http_token})
    listed = runner.invoke(main, ["alerts", "silences", "--url", url(collector, "")])
    assert silence["id"] in listed.output and "by operator" in listed.output
    lifted = runner.invoke(main, ["alerts", "unsilence", silence["id"], "--url",
                                  url(collector, "")])  # fmt: skip
    assert lifted.exit_code == 0, lifted.output
    assert httpx.get(url(collector, "/silences")).json() == []
    query = 'SELECT "by", "reason" FROM "operator_action" WHERE "cabinet" = \'bz-bc-002\''
    wait_for(lambda: len(rows_so_far(collector.influx_url, "api_auth", query)) == 2, 10,
             "the silence and its lifting in InfluxDB")  # fmt: skip
    rows = rows_so_far(collector.influx_url, "api_auth", query)
    assert {(r["by"], r["reason"]) for r in rows} == {("operator", "new pads")}


def test_a_critical_alert_is_acknowledged_only_with_the_token_and_by_its_name(
    services: LocalServices, collector: CollectorProcess
) -> None:
    client = operator_client(services, "api-door")
    client.loop_start()
    try:
        event = f'{{"v":1,"id":"{A}","ev":"door_open","seq":1,"ts":{wall_ms()},"sync":true}}'
        client.publish(topic_for(A, "event"), event, qos=1).wait_for_publish(5)
        wait_for(lambda: httpx.get(url(collector, "/alerts")).json(), 10, "the opened alert")
    finally:
        client.disconnect()
        client.loop_stop()
    by_anyone = httpx.post(url(collector, "/alerts/ack"),
                           json={"cabinet": A, "rule": "opened", "by": "anyone"},
                           headers=bearer(collector))  # fmt: skip
    assert by_anyone.status_code == 400  # `by` is no longer the caller's to choose
    runner = CliRunner(env={"AEDFLEET_HTTP_TOKEN": collector.http_token})
    acked = runner.invoke(main, ["alerts", "ack", A, "opened", "--url", url(collector, "")])
    assert acked.exit_code == 0, acked.output
    assert "as operator" in acked.output
    alert = httpx.get(url(collector, "/alerts")).json()[0]
    assert (alert["state"], alert["acked_by"]) == ("acknowledged", "operator")
    query = 'SELECT "by", "severity" FROM "operator_action" WHERE "action" = \'ack\''
    wait_for(lambda: rows_so_far(collector.influx_url, "api_auth", query), 10, "the ack stored")
    row = rows_so_far(collector.influx_url, "api_auth", query)[0]
    assert (row["by"], row["severity"]) == ("operator", "critical")


def test_the_cli_takes_the_token_from_the_collectors_config_or_says_how_to_give_one(
    collector: CollectorProcess, tmp_path: Path
) -> None:
    runner = CliRunner(env={"AEDFLEET_HTTP_TOKEN": ""})
    refused = runner.invoke(main, ["alerts", "silence", A, "--reason", "x",
                                   "--url", url(collector, "")])  # fmt: skip
    assert refused.exit_code != 0 and "AEDFLEET_HTTP_TOKEN" in refused.output
    config = tmp_path / "collector.toml"
    config.write_text(f'[http]\ntoken = "{collector.http_token}"\n')
    made = runner.invoke(main, ["alerts", "silence", A, "--reason", "new pads", "--minutes", "5",
                                "--config", str(config), "--url", url(collector, "")])  # fmt: skip
    assert made.exit_code == 0, made.output
    silence_id = made.output.split()[1].rstrip(":")
    lifted = runner.invoke(main, ["alerts", "unsilence", silence_id, "--config", str(config),
                                  "--url", url(collector, "")])  # fmt: skip
    assert lifted.exit_code == 0, lifted.output
