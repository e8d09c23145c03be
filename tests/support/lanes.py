"""How `make test` shares its workers: most test files mostly wait (a broker restarting,
InfluxDB frozen for a minute, the firmware's real-time timers, the demo's pace), a few keep a
core busy for minutes. Measured on the 2-core reference machine (CPU time of the worker and
the processes it started, over wall time, per file), the whole parallel phase used about a
third of its two cores. So `make test` runs more workers than cores, and the busy files run in
two lanes, each lane's files one after another on one worker: never more than two busy files
at once, as with two workers, while the other workers' waits overlap them.

A lane lists its files by path; test_lanes.py checks that each still exists."""

from __future__ import annotations

from typing import Final

from xdist.scheduler import LoadFileScheduling

# each lane's files in the order they run; the two lanes take about the same time (200-220 s)
BUSY_LANES: Final = (
    (
        "tests/integration/test_collector_e2e.py",  # 50,000 messages; a backfill after 30 s down
        "tests/report/test_month_report.py",  # a month simulated at speed 80,000
        "tests/packaging/test_wheel.py",  # builds and installs the wheel
        "tests/test_msgspec_releases.py",  # installs two msgspec releases
    ),
    (
        "tests/ha/test_whole_proof.py",  # 200 cabinets, a NATS cluster, two collectors
        "tests/test_bench_smoke.py",  # every benchmark at its smoke size
        "tests/simulator/test_rollout_on_simulated_fleet.py",  # 200 simulated cabinets
        "tests/test_validate_properties.py",  # hypothesis: CPU-bound, with deadlines
    ),
)
LANE_OF: Final = {path: f"busy lane {n}" for n, lane in enumerate(BUSY_LANES, 1) for path in lane}


def lane_order(path: str) -> int:
    """Where a file's tests go in the collection: the busy lanes first (they are the longest
    work units), then everything else."""
    for n, lane in enumerate(BUSY_LANES):
        if path in lane:
            return n
    return len(BUSY_LANES)


class LaneScheduling(LoadFileScheduling):  # type: ignore[misc]  # xdist ships no type information
    """`--dist loadfile`, except that each busy lane is one work unit: its files run in turn on
    one worker. Work units are handed out in collection order (tests/conftest.py puts the
    lanes first, then the files with slow tests), not by their number of tests."""

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        return LANE_OF.get(path, path)
