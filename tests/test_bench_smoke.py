"""Every benchmark runs end to end at a smoke size, so an import error or a changed helper
fails CI instead of the README's figures."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import bench

ROOT = Path(__file__).resolve().parent.parent
# module -> (smoke-size arguments, a line its table must print)
SMOKE = {
    "alert_latency": (["--openings", "3", "--cabinets", "1000"], "p99"),
    "alert_store": (["--operations", "50"], "postgresql / sqlite"),
    "coverage": (
        ["--cabinets", "200", "--places", "1000", "--changes", "200"],
        "brute force / indexed",
    ),
    "fleet": (["--cabinets", "50", "--steady", "5"], "memory per cabinet (KiB)"),
    "ingest": (
        ["--messages", "2000", "--naive-messages", "200", "--rounds", "1"],
        "CPU / previous collector",
    ),
    "mqtt_reader": (["--messages", "2000"], "after / before"),
    "nats_sizing": (["--messages", "500"], "B/msg"),
    "report": (["--cabinets", "50"], "report / baseline"),
    "responders": (
        ["--responders", "2000", "--selections", "50", "--loads", "1"],
        "brute force / indexed",
    ),
}


def test_every_benchmark_has_a_smoke_size() -> None:
    modules = {m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_")}
    assert modules == set(SMOKE)


@pytest.mark.slow
@pytest.mark.services
@pytest.mark.parametrize("module", sorted(SMOKE))
def test_benchmark_runs_at_smoke_size(module: str) -> None:
    arguments, expected = SMOKE[module]
    result = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert expected in result.stdout, result.stdout
