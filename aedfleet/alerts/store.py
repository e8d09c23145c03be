"""The alert engine's memory across restarts, in SQLite (one machine, the default) or in
PostgreSQL (`[alerts] store`, high availability: docs/ha.md): alerts, cabinet states (with the
record of which sequence numbers were folded) and silences are reloaded, so a restart or a
takeover neither re-sends nor forgets. The same database holds the notification outbox
(`sends`, notify/sendqueue.py), where every notification has a unique idempotency key, so one
that was sent (or whose outcome is unknown) is never sent again. The SQL is the same for both;
aedfleet/sqldb.py holds what differs.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import time
from pathlib import Path
from typing import Final, NamedTuple
from urllib.parse import urlsplit

import msgspec

from aedfleet.alerts.engine import Alert, AlertEngine, Silence
from aedfleet.alerts.migrations import migrate, refuse_newer
from aedfleet.alerts.state import CabinetState
from aedfleet.collector.config import AlertsConfig, ConfigError
from aedfleet.notify.sendqueue import SendQueue
from aedfleet.sqldb import Database, SqliteDatabase, connect_postgresql, redacted

DATABASE: Final = "alerts.sqlite3"  # in [alerts] state_dir
# a lock held by another connection (an online backup, a second opener) is waited for this
# long on a loaded machine, rather than failing at Python's default of 5 s
LOCK_TIMEOUT_S: Final = 30.0
SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS alerts (
    cabinet TEXT NOT NULL, rule TEXT NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (cabinet, rule));
CREATE TABLE IF NOT EXISTS cabinets (cabinet TEXT PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS silences (body BLOB NOT NULL);
"""


class OpenPlace(NamedTuple):
    """A key place's open `coverage_lost` alert (aedfleet/coverage/alerts.py)."""

    since_ms: int
    acked_by: str = ""  # the name of the token that acknowledged it; "" while firing


def _with_id(silence: Silence) -> Silence:
    """A silence stored before silences had ids gets one, so it can be listed and lifted."""
    return silence if silence.id else msgspec.structs.replace(silence, id=secrets.token_hex(6))


def open_sqlite(path: Path) -> SqliteDatabase:
    # it holds phone numbers: owner only, from the first byte (SQLite gives its -wal and
    # -shm files the database file's mode)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    path.chmod(0o600)
    connection = sqlite3.connect(path, isolation_level=None, timeout=LOCK_TIMEOUT_S)
    return SqliteDatabase(connection, str(path))


def open_store(config: AlertsConfig) -> AlertStore:
    """The store the configuration names: `[alerts] store` (PostgreSQL), else the SQLite file
    in `state_dir`."""
    if not config.store:
        return AlertStore(Path(config.state_dir) / DATABASE)
    if urlsplit(config.store).password is not None:
        raise ConfigError(
            f"[alerts] store: {redacted(config.store)} has a password in it; give it in"
            " AEDFLEET_ALERTS_STORE_PASSWORD instead"
        )
    return AlertStore(connect_postgresql(config.store, config.store_password))


def _into_wal(db: SqliteDatabase) -> None:
    """Switch to WAL, waiting for another connection's write as long as for any lock (30 s):
    SQLite answers this switch "database is locked" at once, without the busy handler, while
    another connection holds a write lock (it skips the handler where waiting could deadlock,
    as sqlite3_busy_handler's documentation says), e.g. a second collector creating the
    schema."""
    deadline = time.monotonic() + LOCK_TIMEOUT_S
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class AlertStore:
    def __init__(self, where: Path | Database) -> None:
        """`where`: the SQLite file, or an open database (aedfleet/sqldb.py), which the store
        then owns and closes."""
        db = open_sqlite(where) if isinstance(where, Path) else where
        self._db = db
        self._saved_silences: list[Silence] = []
        try:
            refuse_newer(db)  # before anything writes: a downgrade never corrupts
            if isinstance(db, SqliteDatabase):
                _into_wal(db)
                db.execute("PRAGMA synchronous=NORMAL")
            with db.transaction(exclusive=True):
                db.script(SCHEMA)  # version 1 with the outbox's (alerts/migrations.py)
            # the notification outbox (notify/sendqueue.py) keeps its table in this database
            self.sends = SendQueue(db)
            migrate(db)
        except BaseException:
            db.close()
            raise

    def close(self) -> None:
        self._db.close()

    def load(self, engine: AlertEngine) -> None:
        for (body,) in self._db.execute("SELECT body FROM cabinets"):
            state = msgspec.json.decode(body, type=CabinetState)
            engine.cabinets[state.cabinet_id] = state
        for (body,) in self._db.execute("SELECT body FROM alerts"):
            engine.restore(msgspec.json.decode(body, type=Alert))
        self._saved_silences = [
            msgspec.json.decode(body, type=Silence)
            for (body,) in self._db.execute("SELECT body FROM silences")
        ]
        engine.silences = [_with_id(s) for s in self._saved_silences]  # saved with the next

    def save(self, engine: AlertEngine, cabinet_ids: set[str]) -> None:
        """Persist the named cabinets' states and all their alerts, and the silences."""
        encode = msgspec.json.encode
        with self._db.transaction():
            self._db.executemany(
                "INSERT INTO cabinets VALUES (?, ?)"
                " ON CONFLICT (cabinet) DO UPDATE SET body = excluded.body",
                [(c, encode(engine.cabinets[c])) for c in cabinet_ids if c in engine.cabinets],
            )
            self._db.executemany(
                "INSERT INTO alerts VALUES (?, ?, ?)"
                " ON CONFLICT (cabinet, rule) DO UPDATE SET body = excluded.body",
                [(c, r, encode(a)) for (c, r), a in engine.alerts.items() if c in cabinet_ids],
            )
            if engine.silences != self._saved_silences:  # rare: only when one is set or ends
                self._db.execute("DELETE FROM silences")
                self._db.executemany(
                    "INSERT INTO silences VALUES (?)", [(encode(s),) for s in engine.silences]
                )
                self._saved_silences = list(engine.silences)

    # --- coverage_lost of key places (docs/coverage.md) -------------------------------------

    def open_places(self) -> dict[str, OpenPlace]:
        """The key places whose coverage_lost was open at the last stop."""
        rows = self._db.execute("SELECT place, since_ms, acked_by FROM place_alerts")
        return {place: OpenPlace(since, by) for place, since, by in rows}

    def place_opened(self, place_id: str, since_ms: int) -> None:
        self._db.execute(
            "INSERT INTO place_alerts VALUES (?, ?, '') ON CONFLICT (place)"
            " DO UPDATE SET since_ms = excluded.since_ms, acked_by = excluded.acked_by",
            (place_id, since_ms),
        )

    def place_acknowledged(self, place_id: str, by: str) -> None:
        self._db.execute("UPDATE place_alerts SET acked_by = ? WHERE place = ?", (by, place_id))

    def place_closed(self, place_id: str) -> None:
        self._db.execute("DELETE FROM place_alerts WHERE place = ?", (place_id,))
