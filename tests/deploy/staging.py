"""A deployment staged in a folder as the server's root: written by `aedfleet deploy`, its
units read the way systemd reads them (systemd.service(5) ExecStart=, systemd.exec(5)
EnvironmentFile=)."""

from __future__ import annotations

import configparser
import getpass
import shlex
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from aedfleet.cli import main
from aedfleet.deploy.layout import Layout
from aedfleet.services import free_port
from tests.support.harness import inventory_file

CABINETS = ["bz-bc-001", "bz-bc-002"]


def run_deploy(root: Path, *extra: str, out: Path | None = None, **ports: Any) -> Layout:
    """Deploy into `out` (default: `root` itself, as if copied there) for a server at `root`."""
    inventory = inventory_file(root.parent / f"{root.name}-inventory.csv", CABINETS)
    result = CliRunner().invoke(main, [
        "deploy", "--inventory", str(inventory), "--out", str(out or root), "--root", str(root),
        "--hostname", "mqtt.example.org", "--hostname", "127.0.0.1",
        "--broker-user", getpass.getuser(),
        "--tls-port", str(ports.get("tls_port", free_port())),
        "--plain-port", str(ports.get("plain_port", free_port())),
        "--http-listen", f"127.0.0.1:{ports.get('http_port', free_port())}",
        *extra,
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    return Layout(root)


def unit_section(path: Path) -> configparser.SectionProxy:
    # systemd allows a key more than once; none of ours repeats one
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path)
    return parser["Service"]


def exec_start(path: Path) -> list[str]:
    return shlex.split(unit_section(path)["ExecStart"])


def environment_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines, `#` comments and blank lines skipped, as systemd reads them."""
    pairs = (line.partition("=") for line in path.read_text().splitlines())
    return {k.strip(): v for k, sep, v in pairs if sep and not k.lstrip().startswith("#")}
