"""coverage_lost across a collector restart, with the real Mosquitto, InfluxDB and collector:
the sole AED of the railway station taken out fires coverage_lost once; the collector is
restarted while it is open; the AED back in service then resolves it, and nothing fires again
(the open place alerts are kept in the alert store, docs/coverage.md). After the restart an
operator lists, acknowledges and silences place alerts like any other."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from aedfleet.cli import main
from aedfleet.collector.inventory import write_inventory
from aedfleet.coverage.places import DEMO_PLACES, load_places
from aedfleet.services import LocalServices
from tests.coverage.test_e2e import CABINETS, DUTY, NEIGHBOUR, SOLE, STATION, Cabinet, _sms
from tests.support.fake_providers import FakeTwilio, twilio_collector_sections
from tests.support.harness import CollectorProcess, rows_so_far, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]
# the railway station's sole AED is this square's only one too
FORECOURT = next(p for p in load_places(DEMO_PLACES)
                 if p.name == f"{STATION.name} forecourt square")  # fmt: skip


def test_an_open_coverage_lost_survives_a_restart(services: LocalServices, tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.csv"
    write_inventory(inventory, CABINETS)
    with FakeTwilio().running() as twilio:
        collector = CollectorProcess(
            services, tmp_path / "collector", database="coverage_restart", ids=[SOLE],
            fleet={"inventory": str(inventory)}, coverage={"places": str(DEMO_PLACES)},
            alerts={"tick_ms": 200, "readiness_every_s": 1, "resolve_hold_s": 1},
            **twilio_collector_sections(twilio.url, [DUTY]),
        )  # fmt: skip
        collector.process.start()
        sole, neighbour = Cabinet(services, SOLE), Cabinet(services, NEIGHBOUR.id)
        lost_text = f"{STATION.name}: no ready AED within 150 m"
        resolved_text = f"RESOLVED: {STATION.name} covered again"
        try:
            sole.online()
            neighbour.online()
            covered = f'SELECT last("covered") FROM "coverage" WHERE "place" = \'{STATION.id}\''

            def station_covered() -> bool | None:
                rows = rows_so_far(collector.influx_url, collector.database, covered)
                return bool(rows[0]["last"]) if rows else None

            wait_for(lambda: station_covered() is True, 30, "the station covered")
            sole.event("aed_removed")
            wait_for(lambda: _sms(twilio, lost_text), 30, "coverage_lost SMS")

            collector.process.stop()
            collector.process.start()
            sole.online()  # heard from again: still out of service (its AED is out)
            neighbour.online()
            url = f"http://127.0.0.1:{collector.http_port}"
            token = ["--token", collector.http_token, "--url", url]
            listed = CliRunner().invoke(main, ["alerts", "list", "--url", url]).output
            assert f"high     firing       {STATION.id:12s} coverage_lost {lost_text}" in listed
            acked = CliRunner().invoke(main, ["alerts", "ack", STATION.id, "coverage_lost",
                                              *token])  # fmt: skip
            assert acked.exit_code == 0, acked.output
            silenced = CliRunner().invoke(main, ["alerts", "silence", FORECOURT.id, "--rule",
                                                 "coverage_lost", "--reason", "square closed",
                                                 *token])  # fmt: skip
            assert silenced.exit_code == 0, silenced.output
            listed = CliRunner().invoke(main, ["alerts", "list", "--url", url]).output
            assert f"acknowledged {STATION.id:12s} coverage_lost" in listed
            sole.event("aed_returned", ',"out_s":60')
            sole.event("maint_enter")
            sole.event("maint_exit", ',"dur_s":60')  # restocked: back in service
            wait_for(lambda: _sms(twilio, resolved_text), 60, "coverage_lost resolved")
            # the station's SMS are now all sent (one firing, one resolved); the next heartbeat
            # after the resolution shows the station covered, so nothing is pending any more
            wait_for(lambda: station_covered() is True, 30, "the station covered again")
            assert len(_sms(twilio, lost_text)) == 1
            assert len(_sms(twilio, resolved_text)) == 1
            # the silenced square's resolution is written, silenced (so not sent)
            square = ('SELECT "silenced" FROM "alert" WHERE "kind" = \'resolved\' AND "place" = '
                      f"'{FORECOURT.id}'")  # fmt: skip
            wait_for(lambda: rows_so_far(collector.influx_url, collector.database, square), 30,
                     "the square's resolution")  # fmt: skip
            assert rows_so_far(collector.influx_url, collector.database, square)[0]["silenced"]
            assert not _sms(twilio, f"RESOLVED: {FORECOURT.name} covered again")
            acks = ('SELECT "by" FROM "operator_action" WHERE "action" = \'ack\' AND "place" = '
                    f"'{STATION.id}'")  # fmt: skip
            assert rows_so_far(collector.influx_url, collector.database, acks)
        finally:
            sole.close()
            neighbour.close()
            collector.process.stop()
