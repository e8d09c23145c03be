"""The running demo's env file: private (0600), and `aedfleet alerts` run from the checkout
takes its address and token when no flag or environment variable gives them; a file others
could read is not used."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from aedfleet.cli import main
from aedfleet.demo_env import DEMO_DIR, ENV_FILE, read_env
from aedfleet.services import free_port
from aedfleet.simulator.demo import api_listen, write_env_file

TOKEN = "demo-token-" + "x" * 24


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("AEDFLEET_COLLECTOR_URL", "AEDFLEET_HTTP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _ack(*flags: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["alerts", "ack", "bz-bc-001", "opened", *flags], env=env)
    return result.exit_code, result.output


def test_the_env_file_is_private_and_read_back(checkout: Path) -> None:
    path = write_env_file(checkout / DEMO_DIR, "http://127.0.0.1:9108", TOKEN)
    assert path == checkout / DEMO_DIR / ENV_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_env(path) == {"AEDFLEET_COLLECTOR_URL": "http://127.0.0.1:9108",
                              "AEDFLEET_HTTP_TOKEN": TOKEN}  # fmt: skip


def test_the_alerts_commands_find_the_demo_with_no_flags(checkout: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens: the error names where it went
    write_env_file(checkout / DEMO_DIR, url, TOKEN)
    code, output = _ack()
    assert code == 1
    assert f"collector not reachable at {url}/alerts/ack" in output  # with a token: no refusal
    elsewhere = f"http://127.0.0.1:{free_port()}"
    _, output = _ack(env={"AEDFLEET_COLLECTOR_URL": elsewhere})  # the environment wins
    assert f"not reachable at {elsewhere}/alerts/ack" in output
    _, output = _ack("--url", elsewhere)  # and a flag
    assert f"not reachable at {elsewhere}/alerts/ack" in output
    result = CliRunner().invoke(main, ["alerts", "list"])
    assert f"not reachable at {url}/alerts" in result.output


def test_an_env_file_others_can_read_is_not_used(checkout: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    path = write_env_file(checkout / DEMO_DIR, url, TOKEN)
    os.chmod(path, 0o644)
    code, output = _ack()
    assert code == 1
    assert "not private to you" in output
    assert "give the collector's API token" in output  # the file's token was not taken


def test_no_env_file_changes_nothing(checkout: Path) -> None:
    code, output = _ack()
    assert code == 1 and "give the collector's API token" in output


def test_the_demo_takes_9108_when_free_and_another_port_when_not() -> None:
    port = free_port()
    assert api_listen(port) == f"127.0.0.1:{port}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        assert api_listen(port) != f"127.0.0.1:{port}"
