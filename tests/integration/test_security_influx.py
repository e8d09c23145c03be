"""Issue 14, item 13, against the real InfluxDB: the database name the collector creates is
escaped, so a crafted name cannot run a second statement."""

from __future__ import annotations

import aiohttp
import httpx
import pytest

from aedfleet.collector.influx import InfluxWriter
from aedfleet.services import LocalServices

pytestmark = pytest.mark.services
VICTIM = "sec_victim"
CRAFTED = f'sec_odd"; DROP DATABASE "{VICTIM}'


def databases(url: str) -> set[str]:
    answer = httpx.get(f"{url}/query", params={"q": "SHOW DATABASES"}).json()
    return {row[0] for row in answer["results"][0]["series"][0]["values"]}


@pytest.mark.asyncio
async def test_a_crafted_database_name_cannot_drop_another_database(
    services: LocalServices,
) -> None:
    url = services.influxdb.url
    httpx.post(f"{url}/query", params={"q": f"CREATE DATABASE {VICTIM}"}).raise_for_status()
    async with aiohttp.ClientSession() as session:
        writer = InfluxWriter(session, url=url, database=CRAFTED)
        await writer.write(["probe value=1i 1796000000000"])
    assert VICTIM in databases(url)
    assert CRAFTED in databases(url)
