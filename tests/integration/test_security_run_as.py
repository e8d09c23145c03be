"""Issue 14, item 8, with the real Mosquitto: started as root as the README says, it drops to
the `mosquitto` user and still reads the password file, ACL and key written for its group,
while credentials.json and ca.key stay root's alone."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from aedfleet.broker.accounts import OPERATOR_USER
from aedfleet.broker.config import generate
from aedfleet.services import ManagedProcess, ServiceError, free_port, mqtt_answers

pytestmark = pytest.mark.services
A = "bz-bc-001"


def _mosquitto_user() -> bool:
    try:
        pwd.getpwnam("mosquitto")
    except KeyError:
        return False
    return os.geteuid() == 0 and shutil.which("mosquitto", path="/usr/sbin:/usr/bin") is not None


@pytest.fixture
def public_folder() -> Iterator[Path]:
    """A folder the mosquitto user may pass through (pytest's own is root's only)."""
    folder = Path(tempfile.mkdtemp(prefix="aedfleet-run-as-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


@pytest.mark.skipif(not _mosquitto_user(), reason="needs root and Debian's mosquitto user")
def test_mosquitto_started_as_root_drops_to_its_user_and_reads_its_files(
    public_folder: Path,
) -> None:
    port = free_port()
    files = generate(public_folder / "broker", [A], plain_port=port,
                            tls_port=free_port(), tls_bind="127.0.0.1", run_as="mosquitto",
                            group="mosquitto")  # fmt: skip
    password = files.password(OPERATOR_USER)
    mosquitto = ManagedProcess(
        "mosquitto", [shutil.which("mosquitto", path="/usr/sbin:/usr/bin") or "mosquitto",
                      "-c", str(files.conf)],
        public_folder / "mosquitto.log",
        lambda: mqtt_answers("127.0.0.1", port, username=OPERATOR_USER, password=password),
    )  # fmt: skip
    try:
        mosquitto.start(timeout_s=20)
    except ServiceError:
        pytest.fail((public_folder / "mosquitto.log").read_text())
    try:
        assert pwd.getpwuid(Path(f"/proc/{mosquitto.pid}").stat().st_uid).pw_name == "mosquitto"
        assert mqtt_answers("127.0.0.1", port, username=A, password=files.password(A))
        for secret in (files.credentials_path, files.tls.ca_key):
            assert secret.stat().st_mode & 0o077 == 0
    finally:
        mosquitto.stop()
