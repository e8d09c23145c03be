"""Rollout state in the collector's SQLite database (the alerts' `alerts.sqlite3` in its
state_dir, table `rollouts`), so a rollout survives a restart of whatever drives it."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Final

from aedfleet.rollout.plan import Rollout

DATABASE: Final = "alerts.sqlite3"
SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS rollouts (
    version TEXT PRIMARY KEY,
    started_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    body TEXT NOT NULL
);
"""


class RolloutStore:
    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = state_dir / DATABASE
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        self._db = sqlite3.connect(path, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def save(self, rollout: Rollout, now_ms: int) -> None:
        body = json.dumps(rollout.to_json(), separators=(",", ":"))
        self._db.execute(
            "INSERT INTO rollouts VALUES (?, ?, ?, ?) ON CONFLICT(version) DO UPDATE SET "
            "updated_ms = excluded.updated_ms, body = excluded.body",
            (rollout.version, now_ms, now_ms, body),
        )

    def load(self, version: str) -> Rollout | None:
        row = self._db.execute("SELECT body FROM rollouts WHERE version = ?", (version,)).fetchone()
        return None if row is None else Rollout.from_json(json.loads(row[0]))

    def latest(self) -> Rollout | None:
        row = self._db.execute(
            "SELECT body FROM rollouts ORDER BY started_ms DESC, version DESC LIMIT 1"
        ).fetchone()
        return None if row is None else Rollout.from_json(json.loads(row[0]))
