"""Shared fixtures: the real Mosquitto and InfluxDB, started once per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aedfleet.services import LocalServices, running_services


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServices]:
    with running_services(tmp_path_factory.mktemp("services")) as started:
        yield started
