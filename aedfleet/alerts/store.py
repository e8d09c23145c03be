"""The alert engine's memory across restarts, and the notification outbox, in SQLite.

A restart neither re-sends nor forgets: alerts, cabinet states and silences are reloaded, and
every notification has a unique idempotency key, so one that was sent (or whose outcome is
unknown) is never sent again.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from pathlib import Path
from typing import Final

import msgspec

from aedfleet.alerts.engine import Alert, AlertEngine, Silence
from aedfleet.alerts.state import CabinetState
from aedfleet.notify.base import Notification

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS alerts (
    cabinet TEXT NOT NULL, rule TEXT NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (cabinet, rule));
CREATE TABLE IF NOT EXISTS cabinets (cabinet TEXT PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS silences (body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS notifications (
    key TEXT PRIMARY KEY, body BLOB NOT NULL, channel TEXT NOT NULL,
    status TEXT NOT NULL,  -- pending, sending, sent, failed, unknown, suppressed
    not_before_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '', provider_id TEXT NOT NULL DEFAULT '',
    created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS pending ON notifications (status, not_before_ms);
"""


def _with_id(silence: Silence) -> Silence:
    """A silence stored before silences had ids gets one, so it can be listed and lifted."""
    return silence if silence.id else msgspec.structs.replace(silence, id=secrets.token_hex(6))


class PendingSend(msgspec.Struct, frozen=True):
    notification: Notification
    channel: str
    attempts: int


class AlertStore:
    def __init__(self, path: Path) -> None:
        # it holds phone numbers: owner only, from the first byte (SQLite gives its -wal and
        # -shm files the database file's mode)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        path.chmod(0o600)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._saved_silences: list[Silence] = []
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        # a send cut short by a crash may have reached the provider: never repeat it blindly
        self._db.execute("UPDATE notifications SET status = 'unknown' WHERE status = 'sending'")

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
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO cabinets VALUES (?, ?)",
                [(c, encode(engine.cabinets[c])) for c in cabinet_ids if c in engine.cabinets],
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO alerts VALUES (?, ?, ?)",
                [(c, r, encode(a)) for (c, r), a in engine.alerts.items() if c in cabinet_ids],
            )
            if engine.silences != self._saved_silences:  # rare: only when one is set or ends
                self._db.execute("DELETE FROM silences")
                self._db.executemany(
                    "INSERT INTO silences VALUES (?)", [(encode(s),) for s in engine.silences]
                )
                self._saved_silences = list(engine.silences)

    # --- the notification outbox -----------------------------------------------------------

    def enqueue(
        self,
        notification: Notification,
        channel: str,
        not_before_ms: int,
        now_ms: int,
        status: str = "pending",
    ) -> bool:
        """False when this key was queued before: a restart must not send it twice."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO notifications (key, body, channel, status, not_before_ms,"
            " created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (notification.key, msgspec.json.encode(notification), channel, status,
             not_before_ms, now_ms, now_ms),
        )  # fmt: skip
        return cursor.rowcount == 1

    def due(self, now_ms: int, limit: int = 50) -> list[PendingSend]:
        rows = self._db.execute(
            "SELECT body, channel, attempts FROM notifications WHERE status = 'pending'"
            " AND not_before_ms <= ? ORDER BY created_ms LIMIT ?",
            (now_ms, limit),
        )
        return [
            PendingSend(msgspec.json.decode(body, type=Notification), channel, attempts)
            for body, channel, attempts in rows
        ]

    def mark_sending(self, key: str) -> None:
        self._db.execute("UPDATE notifications SET status = 'sending' WHERE key = ?", (key,))

    def record(
        self,
        key: str,
        *,
        status: str,
        now_ms: int,
        error: str = "",
        provider_id: str = "",
        retry_at_ms: int | None = None,
    ) -> None:
        self._db.execute(
            "UPDATE notifications SET status = ?, attempts = attempts + 1, last_error = ?,"
            " provider_id = ?, updated_ms = ?, not_before_ms = COALESCE(?, not_before_ms)"
            " WHERE key = ?",
            (status, error, provider_id, now_ms, retry_at_ms, key),
        )  # fmt: skip

    def statuses(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT key, status FROM notifications"))
