"""Retention policies and continuous queries, made by the collector at start: present after the
first start, untouched by the second, and an aggregate point appears once its interval ends
(a 2 s interval here, on an InfluxDB of this test's own that runs continuous queries)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
import pytest_asyncio

from aedfleet.collector.clock import wall_ms
from aedfleet.collector.config import ConfigError, RetentionConfig, load_config
from aedfleet.collector.influx import InfluxWriter
from aedfleet.collector.retention import KEPT_LONGER, LONG_RP, ensure_storage, keep_storage
from aedfleet.influx_query import query
from aedfleet.services import InfluxDB
from tests.support.harness import until

pytestmark = [pytest.mark.services]
DB = "retention"
FAST = RetentionConfig(raw="30d", long="730d", aggregates=["2s", "1d"])


@pytest.fixture(scope="module")
def influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = InfluxDB(tmp_path_factory.mktemp("influx-cq"), continuous_queries=True)
    database.process.start()
    try:
        yield database.url
    finally:
        database.process.stop()


@pytest_asyncio.fixture
async def writer(influx: str) -> AsyncIterator[InfluxWriter]:
    async with aiohttp.ClientSession() as session:
        yield InfluxWriter(session, url=influx, database=DB)


def shown(influx: str) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    policies = query(influx, DB, f'SHOW RETENTION POLICIES ON "{DB}"')
    cqs = query(influx, DB, "SHOW CONTINUOUS QUERIES")
    return policies, cqs


@pytest.mark.asyncio
async def test_first_start_creates_policies_and_queries_second_changes_nothing(
    influx: str, writer: InfluxWriter
) -> None:
    made = await ensure_storage(writer, DB, FAST)
    assert made[0] == f'CREATE DATABASE "{DB}"'
    policies = {row["name"]: row for row in query(influx, DB, f'SHOW RETENTION POLICIES ON "{DB}"')}
    assert policies["autogen"]["duration"] == "720h0m0s" and policies["autogen"]["default"]
    assert policies[LONG_RP]["duration"] == "17520h0m0s"
    assert policies["forever"]["duration"] == "0s"
    names = {row["name"] for row in query(influx, DB, "SHOW CONTINUOUS QUERIES")}
    assert {"aedfleet_telemetry_2s", "aedfleet_readiness_1d"} <= names
    before = shown(influx)
    assert await ensure_storage(writer, DB, FAST) == []
    assert shown(influx) == before
    # a changed raw retention (a new setting) is applied, nothing else
    longer_raw = RetentionConfig(raw="60d", long="730d", aggregates=["2s", "1d"])
    assert await ensure_storage(writer, DB, longer_raw) == [
        f'ALTER RETENTION POLICY "autogen" ON "{DB}" DURATION 60d'
    ]


@pytest.mark.asyncio
async def test_telemetry_is_aggregated_after_the_interval_and_events_kept_longer(
    influx: str, writer: InfluxWriter
) -> None:
    await keep_storage(writer, DB, FAST)  # what the collector runs at start
    now = wall_ms()
    await writer.write([
        f"telemetry,cabinet=bz-bc-001,district=Bincheng,known=true,site=S batt_v=12.5,"
        f"temp_c=20.0,rssi_dbm=-60i,seq=1i {now}",
        f"telemetry,cabinet=bz-bc-001,district=Bincheng,known=true,site=S batt_v=12.7,"
        f"temp_c=22.0,rssi_dbm=-62i,seq=2i {now + 1}",
        f"event,cabinet=bz-bc-001,district=Bincheng,ev=door_open,known=true,site=S seq=3i {now}",
    ])  # fmt: skip
    aggregate = (
        'SELECT "batt_v", "samples" FROM "forever"."telemetry_2s" WHERE "cabinet" = \'bz-bc-001\''
    )
    await until(lambda: query(influx, DB, aggregate), 30, "the 2 s aggregate")
    row = query(influx, DB, aggregate)[0]
    assert row["batt_v"] == pytest.approx(12.6) and row["samples"] == 2
    kept = query(influx, DB, f'SELECT "seq" FROM "{LONG_RP}"."event"')
    assert [r["seq"] for r in kept] == [3]
    assert query(influx, DB, f'SELECT count("seq") FROM "{LONG_RP}"."telemetry"') == []
    assert "event" in KEPT_LONGER and "telemetry" not in KEPT_LONGER
    # the readiness heartbeat is no record: its changes are (and its aggregates, forever)
    assert "readiness" not in KEPT_LONGER and "readiness_change" in KEPT_LONGER


def test_a_bad_duration_is_refused_at_start_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"retention\.raw"):
        load_config(None, {"AEDFLEET_RETENTION_RAW": "13 months"})


@pytest.mark.asyncio
async def test_copies_come_from_every_line_of_an_entry_and_never_a_refused_one(
    influx: str, writer: InfluxWriter
) -> None:
    await keep_storage(writer, DB, FAST)
    now = wall_ms()
    wrong = f'event,cabinet=c2,ev=boot seq="not an integer" {now + 1}'
    refused = await writer.write([
        f"telemetry,cabinet=c2 batt_v=12.0,seq=1i {now}\n"
        f"status,cabinet=c2,state=online seq=2i {now}",
        f"event,cabinet=c2,ev=boot seq=3i {now}",
        wrong,  # seq is an integer field
    ])  # fmt: skip
    assert [line for line, _ in refused] == [wrong]
    assert [r["seq"] for r in query(influx, DB, f'SELECT "seq" FROM "{LONG_RP}"."status"')] == [2]
    kept = query(influx, DB, f'SELECT "seq" FROM "{LONG_RP}"."event" WHERE "cabinet" = \'c2\'')
    assert [r["seq"] for r in kept] == [3]
