"""Issue 14, items 6, 7 and 12: secret files are created with their final mode (watched as
they are written, not only checked at the end), in folders only their owner enters; service
names cannot be cabinet ids; the server certificate follows --hostname; an external CA's key
never lands next to the broker."""

from __future__ import annotations

import datetime
import grp
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from aedfleet.alerts.store import AlertStore
from aedfleet.broker.config import generate, rotate
from aedfleet.broker.errors import BrokerConfigError
from aedfleet.broker.tls import SERVER_DAYS, make_tls
from aedfleet.collector.inventory import load_inventory
from aedfleet.firmware_tools import board_config, write_board_config
from tests.support.harness import inventory_file

SECRETS = ("credentials.json", "passwd", "ca.key", "server.key")


class Creation:
    def __init__(self, path: Path, mode: int, folder_mode: int) -> None:
        self.path, self.mode, self.folder_mode = path, mode, folder_mode


@pytest.fixture
def creations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Creation]]:
    """Every file os.open creates, with its mode and its folder's mode at that moment."""
    seen: list[Creation] = []
    real_open = os.open

    def watching_open(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        existed = os.path.exists(path)
        descriptor = real_open(path, flags, mode, **kwargs)
        if flags & os.O_CREAT and not existed:
            made = Path(os.fsdecode(path))
            mode = stat.S_IMODE(os.fstat(descriptor).st_mode)
            seen.append(Creation(made, mode, stat.S_IMODE(made.parent.stat().st_mode)))
        return descriptor

    monkeypatch.setattr(os, "open", watching_open)
    yield seen


def created(creations: list[Creation], name: str) -> list[Creation]:
    """Creations of `name`, or of the temporary file that is renamed to it."""
    return [c for c in creations if c.path.name == name or c.path.name.startswith(f".{name}.")]


def test_broker_secrets_are_never_readable_by_others_not_even_while_written(
    tmp_path: Path, creations: list[Creation]
) -> None:
    files = generate(tmp_path / "broker", ["bz-bc-001"])
    rotate(files.directory, "bz-bc-001")
    for name in SECRETS:
        made = created(creations, name)
        assert made, f"{name} was written without being created with its mode"
        for creation in made:
            assert creation.mode & 0o077 == 0, (name, oct(creation.mode))
            assert creation.folder_mode & 0o077 == 0, (name, oct(creation.folder_mode))
        assert stat.S_IMODE((files.directory / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(files.directory.stat().st_mode) == 0o700


def test_with_a_group_the_broker_reads_what_it_needs_and_nothing_else(tmp_path: Path) -> None:
    group = os.getegid()
    files = generate(tmp_path / "broker", ["bz-bc-001"], run_as="mosquitto",
                            group=grp.getgrgid(group).gr_name)  # fmt: skip
    modes = {p.name: (stat.S_IMODE(p.stat().st_mode), p.stat().st_gid)
             for p in files.directory.iterdir()}  # fmt: skip
    for name in ("passwd", "acl", "server.key", "mosquitto.conf"):
        assert modes[name] == (0o640, group), name
    for name in ("credentials.json", "ca.key"):
        assert modes[name][0] == 0o600, name
    assert stat.S_IMODE(files.directory.stat().st_mode) == 0o750
    assert "user mosquitto" in files.conf.read_text()


def test_the_boards_config_and_the_alert_store_are_owner_only_from_the_start(
    tmp_path: Path, creations: list[Creation]
) -> None:
    inventory = load_inventory(inventory_file(tmp_path / "inventory.csv", ["bz-bc-001"]))
    config = board_config(inventory, "bz-bc-001", broker="mqtts://mqtt.example.org:8883",
                          wifi_ssid="x", wifi_password="secret", password="secret")  # fmt: skip
    write_board_config(config, tmp_path / "boards" / "bz-bc-001" / "config.json")
    store = AlertStore(tmp_path / "state" / "alerts.sqlite3")
    store.close()
    for name in ("config.json", "alerts.sqlite3"):
        made = created(creations, name)
        assert made and all(c.mode & 0o077 == 0 and c.folder_mode & 0o077 == 0 for c in made)
    for path in (tmp_path / "state").iterdir():  # SQLite's -wal and -shm take the db's mode
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_a_service_accounts_name_is_refused_as_a_cabinet_id_with_its_row(tmp_path: Path) -> None:
    path = inventory_file(tmp_path / "inventory.csv", ["bz-bc-001", "aedfleet-collector"])
    with pytest.raises(Exception, match=r"inventory.csv:3: .*reserved"):
        load_inventory(path)
    with pytest.raises(BrokerConfigError, match="reserved"):
        generate(tmp_path / "broker", ["aedfleet-operator"])


def _sans(path: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(n.value) for n in names}


def test_a_changed_hostname_issues_a_new_server_certificate_from_the_same_ca(
    tmp_path: Path,
) -> None:
    files = generate(tmp_path / "broker", ["bz-bc-001"], hostnames=["mqtt.example.org"])
    ca = files.tls.ca_cert.read_bytes()
    assert _sans(files.tls.server_cert) == {"mqtt.example.org"}
    generate(tmp_path / "broker", ["bz-bc-001"], hostnames=["mqtt.example.net"])
    assert _sans(files.tls.server_cert) == {"mqtt.example.net"}
    assert files.tls.ca_cert.read_bytes() == ca  # the boards keep trusting it
    cert = x509.load_pem_x509_certificate(files.tls.server_cert.read_bytes())
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(ca))
    lifetime = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    assert lifetime.days <= SERVER_DAYS


def test_an_external_ca_signs_the_server_certificate_and_its_key_stays_away(
    tmp_path: Path,
) -> None:
    external = make_tls(tmp_path / "offline-ca", ["unused"])
    files = generate(tmp_path / "broker", ["bz-bc-001"], hostnames=["mqtt.example.org"],
                            ca_cert=external.ca_cert, ca_key=external.ca_key)  # fmt: skip
    assert not files.tls.ca_key.exists()
    cert = x509.load_pem_x509_certificate(files.tls.server_cert.read_bytes())
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(external.ca_cert.read_bytes()))
    # rerunning for a new cabinet needs no CA key while the certificate still fits
    generate(tmp_path / "broker", ["bz-bc-001", "bz-bc-002"], hostnames=["mqtt.example.org"])
    with pytest.raises(BrokerConfigError, match="--ca-key"):
        generate(tmp_path / "broker", ["bz-bc-001"], hostnames=["mqtt.example.net"])
