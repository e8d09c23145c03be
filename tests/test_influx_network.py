"""Which InfluxDB URLs get gzipped writes (aedfleet/collector/influx.py)."""

import pytest

from aedfleet.collector.influx import over_a_network


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8086", "http://localhost:8086", "http://[::1]:8086", "http://127.0.0.9"],
)
def test_loopback_writes_are_not_compressed(url: str) -> None:
    assert not over_a_network(url)


@pytest.mark.parametrize(
    "url", ["https://influx.example.org", "http://10.0.0.5:8086", "http://[2001:db8::1]:8086"]
)
def test_writes_over_a_network_are_compressed(url: str) -> None:
    assert over_a_network(url)
