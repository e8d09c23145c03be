"""What `pip install .` (not editable) gives: the firmware and the scenarios ship inside the
package, so `simulate`, `firmware build` and `dashboards build` work from any directory; and
`aedfleet --help` stays light because each command imports what it needs when it runs."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HELP_MODULES_MAX = 150


def test_every_package_folder_is_listed_for_the_wheel() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    folders = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "aedfleet").rglob("__init__.py")
    }
    assert listed == folders | {"aedfleet_firmware"}


def test_help_loads_fewer_than_150_modules(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "aedfleet", "--help"],
                         capture_output=True, text=True, cwd=tmp_path, check=True)  # fmt: skip
    modules = [line for line in run.stderr.splitlines() if line.startswith("import time:")][1:]
    assert "Commands:" in run.stdout
    assert len(modules) < HELP_MODULES_MAX, f"{len(modules)} modules for --help"


def _install_from_clean_clone(tmp_path: Path) -> Path:
    """A new venv with aedfleet installed from a clean clone of this checkout, not editable.
    Its dependencies are the ones the lock installed into this test run's venv (on its path
    through a .pth file), so the test needs no network and tests the package itself."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)})
    Path(site, "locked-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-build-isolation", "--disable-pip-version-check",
                    str(clone)], check=True)  # fmt: skip
    return venv


@pytest.mark.slow
def test_a_plain_install_simulates_builds_firmware_and_dashboards_outside_the_checkout(
    tmp_path: Path,
) -> None:
    venv = _install_from_clean_clone(tmp_path)
    aedfleet = str(venv / "bin" / "aedfleet")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([aedfleet, *args], cwd=elsewhere, capture_output=True, text=True,
                              timeout=600, check=False)  # fmt: skip

    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import aedfleet, aedfleet.firmware_tools as f; "
                            "print(aedfleet.__file__); print(f.FIRMWARE_DIR)"],
                           cwd=elsewhere, capture_output=True, text=True, check=True)  # fmt: skip
    assert str(ROOT) not in where.stdout, where.stdout  # the installed copy, not the checkout

    built = run("firmware", "build", "--out", str(tmp_path / "fw"))
    assert built.returncode == 0, built.stderr
    assert {"app.mpy", "link.mpy", "config.mpy", "main.py"} <= {
        p.name for p in (tmp_path / "fw").iterdir()
    }
    boards = run("dashboards", "build", "--out", str(tmp_path / "grafana"))
    assert boards.returncode == 0, boards.stderr
    assert (tmp_path / "grafana" / "dashboards" / "fleet-overview.json").is_file()
    # at 600x the scenario's 40 minutes take seconds; the clock holds at each step all the same
    simulated = run("simulate", "--cabinets", "20", "--scenario", "emergency_opening",
                    "--speed", "600", "--workdir", str(tmp_path / "sim"))  # fmt: skip
    assert simulated.returncode == 0, simulated.stdout + simulated.stderr


def test_the_product_imports_no_paho(tmp_path: Path) -> None:
    """paho is the harness's and the benchmarks' reference client, a dev dependency: no module
    of the product needs it."""
    script = (
        "import importlib, pkgutil, sys, aedfleet\n"
        "for m in pkgutil.walk_packages(aedfleet.__path__, 'aedfleet.'):\n"
        "    if m.name != 'aedfleet.__main__':\n"
        "        importlib.import_module(m.name)\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] == 'paho'))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=tmp_path, check=True)  # fmt: skip
    assert run.stdout.strip() == "[]"
