"""The alert store's schema versions (SQLite `PRAGMA user_version`), migrated at start.

Version 1 is the schema of the first release (`SCHEMA` in aedfleet/alerts/store.py, made with
CREATE ... IF NOT EXISTS; stores of that release carry user_version 0). Each later version is
a list of statements run in one transaction with the new user_version, so a migration cut
short leaves the store at the version before. A store of a newer version than this release
knows is refused before anything touches it: a downgrade never writes into a newer store.
"""

from __future__ import annotations

import sqlite3
import time
from importlib import metadata
from typing import Final, NamedTuple


class Migration(NamedTuple):
    version: int
    why: str
    statements: tuple[str, ...]


BASELINE: Final = 1
MIGRATIONS: Final = (
    Migration(
        2,
        "record which release migrated the store, so a refused downgrade can name it",
        ("CREATE TABLE store_history (version INTEGER NOT NULL, release TEXT NOT NULL,"
         " migrated_ms INTEGER NOT NULL)",),
    ),
    Migration(
        3,
        "keep the open coverage_lost alerts of key places (and since when, and who"
        " acknowledged them), so a restart neither forgets nor re-sends one",
        ("CREATE TABLE place_alerts (place TEXT PRIMARY KEY, since_ms INTEGER NOT NULL,"
         " acked_by TEXT NOT NULL DEFAULT '')",),
    ),
)  # fmt: skip
CURRENT: Final = MIGRATIONS[-1].version if MIGRATIONS else BASELINE


class StoreVersionError(Exception):
    """The store was written by a newer release; the message says what to do."""


def release() -> str:
    try:
        return metadata.version("aedfleet")
    except metadata.PackageNotFoundError:
        return "unknown"


def version_of(db: sqlite3.Connection) -> int:
    value: int = db.execute("PRAGMA user_version").fetchone()[0]
    return value


def refuse_newer(db: sqlite3.Connection, path: object) -> None:
    """Raise StoreVersionError (and close `db`) for a store newer than this release; reads
    only."""
    found = version_of(db)
    if found <= CURRENT:
        return
    writer = "a newer release"
    try:
        row = db.execute(
            "SELECT release FROM store_history ORDER BY version DESC LIMIT 1"
        ).fetchone()
        writer = f"aedfleet {row[0]}" if row else writer
    except sqlite3.Error:
        pass
    db.close()
    raise StoreVersionError(
        f"{path} has schema version {found}, written by {writer}; this release "
        f"(aedfleet {release()}) knows up to version {CURRENT} and will not touch it. Install "
        "that release again, or restore a backup taken before the upgrade (aedfleet restore)."
    )


def migrate(db: sqlite3.Connection, now_ms: int | None = None) -> list[int]:
    """Bring a store at the baseline (or a later version) to CURRENT; returns the versions
    applied. `db` is in autocommit mode (isolation_level=None)."""
    found = max(version_of(db), BASELINE)
    applied = []
    for migration in MIGRATIONS:
        if migration.version <= found:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in migration.statements:
                db.execute(statement)
            db.execute(
                "INSERT INTO store_history VALUES (?, ?, ?)",
                (migration.version, release(), now_ms or int(time.time() * 1000)),
            )
            db.execute(f"PRAGMA user_version = {int(migration.version)}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        applied.append(migration.version)
    if version_of(db) < BASELINE:
        db.execute(f"PRAGMA user_version = {BASELINE}")
    return applied
