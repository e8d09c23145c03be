"""Shared fixtures: the real Mosquitto and InfluxDB, started once per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from xdist.scheduler import Scheduling

from aedfleet.services import LocalServices, running_services
from tests.support.lanes import LaneScheduling, lane_order


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServices]:
    with running_services(tmp_path_factory.mktemp("services")) as started:
        yield started


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The busy lanes first (tests/support/lanes.py), then the files with slow tests, each
    file's tests together and in order: `make test`'s workers take work units in this order,
    so the run ends on short files instead of one worker finishing a minute-long test while
    the others have nothing left."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}

    def order(item: pytest.Item) -> tuple[int, bool]:
        path = item.path.relative_to(config.rootpath).as_posix()
        return lane_order(path), item.path not in slow_files

    items.sort(key=order)  # stable: the rest keeps its order


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> Scheduling | None:
    """`--dist loadfile` with the busy lanes, in the order above (xdist would otherwise hand
    out the files with the most tests first)."""
    if config.getvalue("dist") != "loadfile":
        return None
    config.option.loadscopereorder = False
    return LaneScheduling(config, log)
