"""The InfluxDB error policy against the real InfluxDB 1.x."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from aedfleet.collector.influx import InfluxUnavailableError, InfluxWriter
from aedfleet.services import InfluxDB, LocalServices, free_port
from tests.support.harness import count

pytestmark = [pytest.mark.services, pytest.mark.asyncio]


def line(number: int, value: str = "1.5") -> str:
    return f"m,cabinet=c{number % 5} seq={number}i,x={value} {1_700_000_000_000 + number}"


async def test_missing_database_is_created_and_the_batch_written(services: LocalServices) -> None:
    async with aiohttp.ClientSession() as session:
        writer = InfluxWriter(session, url=services.influxdb.url, database="writer_create")
        assert await writer.write([line(n) for n in range(10)]) == []
    assert count(services.influxdb.url, "writer_create", "m") == 10


async def test_a_line_conflicting_with_stored_data_is_refused_alone(
    services: LocalServices,
) -> None:
    async with aiohttp.ClientSession() as session:
        writer = InfluxWriter(session, url=services.influxdb.url, database="writer_partial")
        assert await writer.write([line(0)]) == []
        batch = [line(n) for n in range(1, 101)]
        batch[49] = line(50, value='"text"')  # x is a float in storage
        refused = await writer.write(batch)
    assert [bad for bad, _reason in refused] == [batch[49]]
    assert "conflict" in refused[0][1]
    assert count(services.influxdb.url, "writer_partial", "m") == 100


async def test_a_conflict_inside_one_batch_is_isolated_by_bisection(
    services: LocalServices,
) -> None:
    async with aiohttp.ClientSession() as session:
        writer = InfluxWriter(session, url=services.influxdb.url, database="writer_inbatch")
        batch = [line(n) for n in range(64)]
        batch[10] = line(10, value="7i")
        batch[40] = "this is not line protocol"
        refused = await writer.write(batch)
    assert sorted(bad for bad, _ in refused) == sorted([batch[10], batch[40]])
    assert count(services.influxdb.url, "writer_inbatch", "m") == 62


async def test_unreachable_influxdb_raises_for_the_spool() -> None:
    async with aiohttp.ClientSession() as session:
        writer = InfluxWriter(
            session, url=f"http://127.0.0.1:{free_port()}", database="x", timeout_s=2
        )
        with pytest.raises(InfluxUnavailableError):
            await writer.write([line(1)])


async def test_basic_auth_is_sent_and_missing_credentials_keep_the_batch(tmp_path: Path) -> None:
    secured = InfluxDB(tmp_path / "influx", auth=True)
    secured.process.start()
    try:
        secured.create_admin("aedfleet", "s3cret")
        async with aiohttp.ClientSession() as session:
            anonymous = InfluxWriter(session, url=secured.url, database="secured")
            with pytest.raises(InfluxUnavailableError, match="401"):
                await anonymous.write([line(1)])  # kept for the spool, never dropped
            signed_in = InfluxWriter(
                session, url=secured.url, database="secured", username="aedfleet",
                password="s3cret",
            )  # fmt: skip
            assert await signed_in.write([line(n) for n in range(5)]) == []
            answer = await signed_in.query('SELECT count("seq") FROM "m"')
        assert answer["results"][0]["series"][0]["values"][0][1] == 5
    finally:
        secured.process.stop()


async def test_a_gzipped_batch_is_stored_as_well(services: LocalServices) -> None:
    # InfluxDB over a network gets gzipped writes; loopback (every other test) plain ones
    async with aiohttp.ClientSession() as session:
        writer = InfluxWriter(
            session, url=services.influxdb.url, database="writer_gzip", gzip_body=True
        )
        assert await writer.write([line(n) for n in range(10)]) == []
    assert count(services.influxdb.url, "writer_gzip", "m") == 10


async def test_a_batch_over_a_mebibyte_is_stored_uncompressed(services: LocalServices) -> None:
    # loopback: not gzipped; aiohttp warns (an error in the tests) on raw bytes over 1 MiB
    padding = "x" * 300
    lines = [f'm,cabinet=c{n % 5} seq={n}i,note="{padding}" {1_700_000_000_000 + n}'
             for n in range(5000)]  # fmt: skip
    assert sum(len(line) + 1 for line in lines) > 2**20
    async with aiohttp.ClientSession() as session:
        writer = InfluxWriter(session, url=services.influxdb.url, database="writer_large")
        assert await writer.write(lines) == []
    assert count(services.influxdb.url, "writer_large", "m") == 5000
