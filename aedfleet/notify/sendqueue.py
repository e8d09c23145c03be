"""The notification outbox: every notification queued once under its idempotency key, in the
alert store's database (SQLite, or PostgreSQL shared by the collectors: aedfleet/sqldb.py), so
a restart or a takeover neither re-sends nor forgets one. A send cut short by a crash may have
reached the provider: its outcome becomes unknown, never retried blindly. A send is claimed
(pending -> sending) in one statement before it is tried, so of two collectors that found it
due only one sends it.
"""

from __future__ import annotations

from typing import Final

import msgspec

from aedfleet.notify.messages import Notification
from aedfleet.sqldb import Database

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS notifications (
    key TEXT PRIMARY KEY, body BLOB NOT NULL, channel TEXT NOT NULL,
    status TEXT NOT NULL,  -- pending, sending, sent, failed, unknown, suppressed
    not_before_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '', provider_id TEXT NOT NULL DEFAULT '',
    created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS pending ON notifications (status, not_before_ms);
"""


class PendingSend(msgspec.Struct, frozen=True):
    notification: Notification
    channel: str
    attempts: int


class SendQueue:
    """On a connection its owner opened (and closes): the alert store's."""

    def __init__(self, db: Database) -> None:
        self._db = db
        with db.transaction(exclusive=True):
            db.script(SCHEMA)
        # what the last run (on a shared database: the last active collector, docs/ha.md) was
        # sending when it stopped
        db.execute("UPDATE notifications SET status = 'unknown' WHERE status = 'sending'")

    def enqueue(
        self,
        notification: Notification,
        channel: str,
        not_before_ms: int,
        now_ms: int,
        status: str = "pending",
    ) -> bool:
        """False when this key was queued before: a restart must not send it twice."""
        inserted = self._db.changed(
            "INSERT INTO notifications (key, body, channel, status, not_before_ms,"
            " created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (notification.key, msgspec.json.encode(notification), channel, status,
             not_before_ms, now_ms, now_ms),
        )  # fmt: skip
        return inserted == 1

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

    def claim(self, key: str) -> bool:
        """Mark a pending send as being sent; False when it is no longer pending (another
        collector claimed it, or it was sent): then it must not be sent from here."""
        claimed = self._db.changed(
            "UPDATE notifications SET status = 'sending' WHERE key = ? AND status = 'pending'",
            (key,),
        )
        return claimed == 1

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
