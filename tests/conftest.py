"""Shared fixtures: the real Mosquitto and InfluxDB, started once per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aedfleet.services import LocalServices, running_services


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServices]:
    with running_services(tmp_path_factory.mktemp("services")) as started:
        yield started


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with slow tests first, each file's tests together and in order: `make test`'s two
    workers take whole files in this order, so the run ends on short files instead of one
    worker finishing a minute-long test while the other has nothing left."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: the rest keeps its order
