"""`aedfleet backup` and `aedfleet restore`: the collector's own state in one file.

The alert store (open alerts, cabinet states, silences, the notification outbox) is copied
with SQLite's online backup API, which gives a consistent snapshot while the collector keeps
writing; the spool's batches are whole files (each written to a temporary name and renamed),
copied as they are. InfluxDB is backed up with its own tool (docs/storage.md).
"""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Final

import msgspec

from aedfleet.broker.files import write_private

STORE_NAME: Final = "alerts.sqlite3"  # in [alerts] state_dir
MANIFEST: Final = "manifest.json"
SPOOL_PREFIX: Final = "spool/"
SPOOL_SUFFIX: Final = ".lp.gz"


class BackupError(Exception):
    """The backup cannot be taken or put back; the message says why and what to do."""


class Manifest(msgspec.Struct, frozen=True):
    created_ms: int
    schema_version: int
    spool_batches: int


def _store_version(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:
        version: int = db.execute("PRAGMA user_version").fetchone()[0]
        return version


def take(state_dir: Path, spool_dir: Path, out: Path) -> Manifest:
    """Write the backup to `out` (mode 0600: it holds phone numbers)."""
    store = state_dir / STORE_NAME
    if not store.exists():
        raise BackupError(f"no alert store at {store}: check [alerts] state_dir")
    with tempfile.TemporaryDirectory(prefix="aedfleet-backup-") as scratch:
        copy = Path(scratch) / STORE_NAME
        with (
            contextlib.closing(sqlite3.connect(store, timeout=30)) as source,
            contextlib.closing(sqlite3.connect(copy)) as target,
        ):
            source.backup(target)  # consistent, though the collector writes meanwhile
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        batches: list[tuple[str, bytes]] = []
        for path in sorted(spool_dir.glob(f"*{SPOOL_SUFFIX}")) if spool_dir.is_dir() else []:
            with contextlib.suppress(FileNotFoundError):  # backfilled meanwhile: in InfluxDB
                batches.append((path.name, path.read_bytes()))
        manifest = Manifest(int(time.time() * 1000), _store_version(copy), len(batches))
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            _add(archive, MANIFEST, msgspec.json.encode(manifest))
            _add(archive, STORE_NAME, copy.read_bytes())
            for name, body in batches:
                _add(archive, SPOOL_PREFIX + name, body)
    write_private(out, buffer.getvalue())
    return manifest


def _add(archive: tarfile.TarFile, name: str, body: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(body)
    info.mode = 0o600
    info.mtime = int(time.time())
    archive.addfile(info, io.BytesIO(body))


def restore(backup: Path, state_dir: Path, spool_dir: Path, *, newest_schema: int,
            replace: bool = False) -> Manifest:  # fmt: skip
    """Put the backup's store and spool back, with the collector stopped. An existing store
    or spool is replaced only with `replace`; a backup of a newer schema is refused."""
    try:
        with tarfile.open(backup, mode="r:gz") as archive:
            members = {m.name: m for m in archive.getmembers() if m.isfile()}
            manifest = msgspec.json.decode(_read(archive, members, MANIFEST), type=Manifest)
            if manifest.schema_version > newest_schema:
                raise BackupError(
                    f"{backup} holds an alert store of schema {manifest.schema_version}, newer "
                    f"than this release knows ({newest_schema}): restore it with the release "
                    "that took it"
                )
            store_body = _read(archive, members, STORE_NAME)
            spooled = {name.removeprefix(SPOOL_PREFIX): _read(archive, members, name)
                       for name in members if _is_batch(name)}  # fmt: skip
    except (tarfile.TarError, OSError, msgspec.ValidationError, msgspec.DecodeError) as error:
        raise BackupError(f"{backup} is not an aedfleet backup: {error}") from error
    store = state_dir / STORE_NAME
    present = [p for p in (store, *spool_dir.glob(f"*{SPOOL_SUFFIX}")) if p.exists()]
    if present and not replace:
        raise BackupError(
            f"{present[0]} exists: restore into a fresh state folder, or give --replace "
            "(with the collector stopped)"
        )
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    spool_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in (*spool_dir.glob(f"*{SPOOL_SUFFIX}"), *_journal_files(store)):
        stale.unlink()  # an old -wal applied to the restored store would corrupt it
    write_private(store, store_body)
    for name, body in sorted(spooled.items()):
        write_private(spool_dir / name, body)
    _owned_like_folder(state_dir, [store])
    _owned_like_folder(spool_dir, [spool_dir / name for name in spooled])
    return manifest


def _is_batch(name: str) -> bool:
    base = name.removeprefix(SPOOL_PREFIX)
    return (name.startswith(SPOOL_PREFIX) and base.endswith(SPOOL_SUFFIX) and "/" not in base
            and base.removesuffix(SPOOL_SUFFIX).isdigit())  # fmt: skip


def _read(archive: tarfile.TarFile, members: dict[str, tarfile.TarInfo], name: str) -> bytes:
    member = members.get(name)
    handle = archive.extractfile(member) if member is not None else None
    if handle is None:
        raise BackupError(f"the backup lacks {name}")
    return handle.read()


def _journal_files(store: Path) -> list[Path]:
    return [p for p in (store.with_name(store.name + s) for s in ("-wal", "-shm", "-journal"))
            if p.exists()]  # fmt: skip


def _owned_like_folder(folder: Path, files: list[Path]) -> None:
    """Run as root for the collector's user: the files get the folder's owner."""
    if os.geteuid() != 0:
        return
    owner = folder.stat()
    for path in files:
        os.chown(path, owner.st_uid, owner.st_gid)


def describe(manifest: Manifest) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(manifest.created_ms / 1000))
    return (f"alert store (schema {manifest.schema_version}) and {manifest.spool_batches} "
            f"spooled batches, taken {stamp}")  # fmt: skip
