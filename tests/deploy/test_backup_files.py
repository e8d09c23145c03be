"""The backup file: the spool's batches go with the store, a foreign or newer file is refused
with a reason, and names in it never reach outside the state and spool folders."""

from __future__ import annotations

import io
import stat
import tarfile
from pathlib import Path

import pytest

from aedfleet.alerts.migrations import CURRENT
from aedfleet.alerts.store import AlertStore
from aedfleet.collector.spool import Spool
from aedfleet.deploy.backup import BackupError, restore, take


def live(folder: Path) -> tuple[Path, Path]:
    state, spool = folder / "state", folder / "spool"
    AlertStore(state / "alerts.sqlite3").close()
    batches = Spool(spool, 1 << 20)
    assert batches.put(b"telemetry,cabinet=a seq=1i 1\n") and batches.put(b"event seq=2i 2\n")
    return state, spool


def test_spooled_batches_travel_with_the_store(tmp_path: Path) -> None:
    state, spool = live(tmp_path / "live")
    backup = tmp_path / "b.tar.gz"
    manifest = take(state, spool, backup)
    assert (manifest.schema_version, manifest.spool_batches) == (CURRENT, 2)
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    fresh = tmp_path / "fresh"
    restore(backup, fresh / "state", fresh / "spool", newest_schema=CURRENT)
    assert {p.name: p.read_bytes() for p in (fresh / "spool").iterdir()} == {
        p.name: p.read_bytes() for p in spool.iterdir()
    }
    oldest = Spool(fresh / "spool", 1 << 20).oldest()
    assert oldest is not None and oldest[1] == b"telemetry,cabinet=a seq=1i 1\n"


def test_a_backup_of_a_newer_schema_is_refused(tmp_path: Path) -> None:
    state, spool = live(tmp_path / "live")
    backup = tmp_path / "b.tar.gz"
    take(state, spool, backup)
    with pytest.raises(BackupError, match="newer than this release knows"):
        restore(backup, tmp_path / "f" / "state", tmp_path / "f" / "spool",
                newest_schema=CURRENT - 1)  # fmt: skip
    assert not (tmp_path / "f").exists()


def hostile_backup(path: Path) -> None:
    with tarfile.open(path, "w:gz") as archive:
        for name, body in (
            ("manifest.json", b'{"created_ms":1,"schema_version":1,"spool_batches":1}'),
            ("alerts.sqlite3", b""),
            ("spool/../../escaped.lp.gz", b"x"),
            ("spool/0000000000000001.lp.gz", b"y"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))


def test_names_in_the_file_never_reach_outside_the_folders(tmp_path: Path) -> None:
    backup = tmp_path / "hostile.tar.gz"
    hostile_backup(backup)
    target = tmp_path / "a" / "b"
    restore(backup, target / "state", target / "spool", newest_schema=CURRENT)
    assert not list(tmp_path.rglob("escaped*"))
    assert [p.name for p in (target / "spool").iterdir()] == ["0000000000000001.lp.gz"]


def test_a_file_that_is_no_backup_is_refused_with_a_reason(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tar")
    with pytest.raises(BackupError, match="not an aedfleet backup"):
        restore(junk, tmp_path / "s", tmp_path / "p", newest_schema=CURRENT)
