"""The alert store's two backends for the tests: a real SQLite file, and a fresh database on the
session's real PostgreSQL (tests/ha/conftest.py). Each opens store objects on one database as
the collector does (`open_store` from its configuration); two of them are two collectors."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from aedfleet.alerts.store import DATABASE, AlertStore, open_store
from aedfleet.collector.config import AlertsConfig
from aedfleet.sqldb import Database, SqliteDatabase, connect_postgresql


@dataclass
class Backend:
    name: str
    state_dir: Path
    url: str = ""  # PostgreSQL's; "" for SQLite
    password: str = ""
    _opened: list[AlertStore | Database] = field(default_factory=list)

    def config(self) -> AlertsConfig:
        return AlertsConfig(state_dir=str(self.state_dir), store=self.url,
                            store_password=self.password)  # fmt: skip

    def store(self) -> AlertStore:
        """A store object, as a collector (re)starting opens it; closed at the test's end."""
        store = open_store(self.config())
        self._opened.append(store)
        return store

    def database(self) -> Database:
        """The same database, straight, for what a test sets up or looks at underneath."""
        if self.url:
            db: Database = connect_postgresql(self.url, self.password)
        else:
            path = self.state_dir / DATABASE
            db = SqliteDatabase(sqlite3.connect(path, isolation_level=None), str(path))
        self._opened.append(db)
        return db

    def close(self) -> None:
        for opened in self._opened:
            opened.close()
