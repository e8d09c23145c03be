"""The report's queries against the real InfluxDB, on points written as the collector (and
the coverage feature) write them: a district's figures only, coverage when it is there."""

from __future__ import annotations

import secrets

import httpx
import pytest

from aedfleet.report.figures import gather
from aedfleet.report.period import Month
from aedfleet.report.queries import Queries
from aedfleet.services import LocalServices

pytestmark = pytest.mark.services

NOVEMBER = Month.parse("2026-11")
HOUR_MS = 3_600_000


def _database(services: LocalServices, lines: list[str]) -> str:
    name = f"report_{secrets.token_hex(4)}"
    url = services.influxdb.url
    httpx.post(f"{url}/query", params={"q": f"CREATE DATABASE {name}"}).raise_for_status()
    httpx.post(f"{url}/write", params={"db": name, "precision": "ms"},
               content="\n".join(lines).encode()).raise_for_status()  # fmt: skip
    return name


def _state(cabinet: str, district: str, code: int, at_ms: int) -> str:
    switches = f"available={int(code == 1)}i,offline={int(code == 2)}i,in_use={int(code == 4)}i"
    return (f"cabinet_state,cabinet={cabinet},district={district},site=s,known=true "
            f"{switches},not_ready={int(code == 0)}i,name=\"{cabinet} AED\",lat=37.4,lon=118.0 "
            f"{at_ms}")  # fmt: skip


def test_a_district_report_counts_its_own_cabinets_and_reads_coverage(
    services: LocalServices,
) -> None:
    start, end = NOVEMBER.start_ms, NOVEMBER.end_ms
    # a-1 is offline for exactly 72 hours (10 % of November) from the 10th, 01:30
    down = start + 9 * 24 * HOUR_MS + 3 * HOUR_MS // 2
    up = down + 72 * HOUR_MS
    lines = [_state("a-1", "Bincheng", 2, down), _state("a-1", "Bincheng", 1, up)]
    for at in range(start - 6 * HOUR_MS, end, HOUR_MS):  # the heartbeat snapshots
        lines.append(_state("a-1", "Bincheng", 2 if down <= at < up else 1, at))
        lines.append(_state("b-1", "Boxing", 1, at))
    lines += [f"coverage,scope=fleet weighted_pct={pct} {start + i * HOUR_MS}"
              for i, pct in enumerate((80.0, 90.0))]  # fmt: skip
    lines += [f"coverage,scope=district,district=Bincheng weighted_pct=70.0 {start + HOUR_MS}"]
    database = _database(services, lines)
    url = services.influxdb.url

    bincheng = gather(Queries(url, database, "Bincheng"), NOVEMBER, district="Bincheng",
                      now_ms=end + HOUR_MS)  # fmt: skip
    assert [c.cabinet for c in bincheng.cabinets] == ["a-1"]
    assert bincheng.summary.readiness_pct == pytest.approx(90.0, abs=1e-9)
    assert bincheng.cabinets[0].durations.offline == 72 * HOUR_MS
    assert bincheng.coverage_pct == 70.0

    fleet = gather(Queries(url, database), NOVEMBER, district=None, now_ms=end + HOUR_MS)
    assert fleet.summary.cabinets == 2
    assert fleet.summary.readiness_pct == pytest.approx(95.0, abs=1e-9)
    assert fleet.coverage_pct == 85.0
    assert list(fleet.district_daily) == ["Bincheng", "Boxing"]
    assert fleet.district_daily["Boxing"] == [100.0] * 30
    assert fleet.district_daily["Bincheng"][9] == pytest.approx(100 * 1.5 / 24)
