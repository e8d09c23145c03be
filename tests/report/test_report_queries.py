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


def _change(cabinet: str, district: str, code: int, at_ms: int) -> str:
    """A `readiness_change` point as the collector writes it (aedfleet/alerts/readiness_change)."""
    state = {0: "not_ready", 1: "available", 2: "offline", 4: "in_use"}[code]
    return (f"readiness_change,cabinet={cabinet},district={district},site=s,known=true "
            f"state=\"{state}\",reason=\"\",code={code}i,name=\"{cabinet} AED\",lat=37.4,"
            f"lon=118.0 {at_ms}")  # fmt: skip


def test_a_district_report_counts_its_own_cabinets_and_reads_coverage(
    services: LocalServices,
) -> None:
    start, end = NOVEMBER.start_ms, NOVEMBER.end_ms
    # a-1 is offline for exactly 72 hours (10 % of November) from the 10th, 01:30
    down = start + 9 * 24 * HOUR_MS + 3 * HOUR_MS // 2
    up = down + 72 * HOUR_MS
    # change-only: each cabinet's state from the collector's start, weeks before the month
    # (b-1 never changes), then a-1's two changes
    started = start - 20 * 24 * HOUR_MS
    lines = [_change("a-1", "Bincheng", 1, started), _change("b-1", "Boxing", 1, started),
             _change("a-1", "Bincheng", 2, down), _change("a-1", "Bincheng", 1, up)]  # fmt: skip
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
