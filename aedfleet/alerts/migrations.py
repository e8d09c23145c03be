"""The alert store's schema versions (SQLite's `PRAGMA user_version`, PostgreSQL's
`store_version` table: aedfleet/sqldb.py), migrated at start.

Version 1 is the schema of the first release (`SCHEMA` in aedfleet/alerts/store.py, made with
CREATE ... IF NOT EXISTS; stores of that release carry user_version 0). Each later version is
a list of statements run in one transaction with the new user_version, so a migration cut
short leaves the store at the version before; the transaction excludes every other writer, so
two collectors starting together on one PostgreSQL apply each migration once. A store of a
newer version than this release knows is refused before anything touches it: a downgrade
never writes into a newer store.
"""

from __future__ import annotations

import time
from importlib import metadata
from typing import Final, NamedTuple

from aedfleet.sqldb import Database


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


def version_of(db: Database) -> int:
    return db.user_version()


def refuse_newer(db: Database) -> None:
    """Raise StoreVersionError (and close `db`) for a store newer than this release; reads
    only."""
    found = version_of(db)
    if found <= CURRENT:
        return
    writer = "a newer release"
    if db.has_table("store_history"):
        rows = db.execute("SELECT release FROM store_history ORDER BY version DESC LIMIT 1")
        writer = f"aedfleet {rows[0][0]}" if rows else writer
    db.close()
    raise StoreVersionError(
        f"{db.where} has schema version {found}, written by {writer}; this release "
        f"(aedfleet {release()}) knows up to version {CURRENT} and will not touch it. Install "
        "that release again, or restore a backup taken before the upgrade (aedfleet restore)."
    )


def migrate(db: Database, now_ms: int | None = None) -> list[int]:
    """Bring a store at the baseline (or a later version) to CURRENT; returns the versions
    applied here (not those another collector applied meanwhile)."""
    applied = []
    for migration in MIGRATIONS:
        if migration.version <= max(version_of(db), BASELINE):
            continue
        with db.transaction(exclusive=True):
            if migration.version <= max(version_of(db), BASELINE):
                continue  # another collector on the same database was first
            db.script(";".join(migration.statements))
            db.execute(
                "INSERT INTO store_history VALUES (?, ?, ?)",
                (migration.version, release(), now_ms or int(time.time() * 1000)),
            )
            db.set_user_version(migration.version)
        applied.append(migration.version)
    if version_of(db) < BASELINE:
        with db.transaction(exclusive=True):
            if version_of(db) < BASELINE:
                db.set_user_version(BASELINE)
    return applied
