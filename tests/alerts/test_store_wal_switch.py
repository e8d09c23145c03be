"""Opening the SQLite alert store while another connection writes to the file: SQLite answers
the switch to WAL with "database is locked" at once, without the busy handler (which it skips
where waiting could deadlock: the documentation of sqlite3_busy_handler), so the store waits
for it itself, as long as for any other lock."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from aedfleet.alerts.store import AlertStore


def test_the_store_opens_once_another_connections_write_ends(tmp_path: Path) -> None:
    path = tmp_path / "alerts.sqlite"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE elsewhere (x)")
    other.execute("BEGIN IMMEDIATE")  # a write lock held, as a second collector's schema
    other.execute("INSERT INTO elsewhere VALUES (1)")
    released = threading.Event()

    def release() -> None:
        other.execute("COMMIT")
        released.set()

    timer = threading.Timer(0.5, release)
    timer.start()
    try:
        store = AlertStore(path)  # before: sqlite3.OperationalError: database is locked
    finally:
        timer.join()
        other.close()
    assert released.is_set()
    store.close()
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)
