"""The alert store's versioned schema: a store of the previous version migrates at start; a
store of a newer release is refused with a message, and not one byte of it changes."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from aedfleet.alerts.migrations import CURRENT, StoreVersionError, release
from aedfleet.alerts.store import AlertStore
from aedfleet.cli import main
from aedfleet.notify.messages import Notification
from tests.support.harness import inventory_file

NOTE = Notification(
    key="k1", recipient="+8613700000001", text="door opened", cabinet_id="bz-bc-001",
    rule="opened", kind="firing", severity="critical",
)  # fmt: skip


def sql(path: Path, *statements: str) -> None:
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        for statement in statements:
            db.execute(statement)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def version(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:
        found: int = db.execute("PRAGMA user_version").fetchone()[0]
        return found


def written_store(path: Path) -> None:
    store = AlertStore(path)
    store.sends.enqueue(NOTE, "sms", not_before_ms=0, now_ms=1)
    store.close()


def test_a_store_of_the_first_release_migrates_and_keeps_its_outbox(tmp_path: Path) -> None:
    path = tmp_path / "alerts.sqlite3"
    written_store(path)
    # exactly what the first release left: its tables, user_version 0, no history
    sql(path, "DROP TABLE store_history", "DROP TABLE place_alerts", "PRAGMA user_version = 0")
    store = AlertStore(path)
    try:
        assert store.sends.statuses() == {"k1": "pending"}
        assert [p.notification for p in store.sends.due(now_ms=10)] == [NOTE]
    finally:
        store.close()
    assert version(path) == CURRENT
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT version, release FROM store_history").fetchall() == [
            (version, release()) for version in range(2, CURRENT + 1)
        ]
    AlertStore(path).close()  # a second start migrates nothing more
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT count(*) FROM store_history").fetchone() == (CURRENT - 1,)


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def newer_store(folder: Path) -> Path:
    path = folder / "alerts.sqlite3"
    written_store(path)
    sql(path, f"PRAGMA user_version = {CURRENT + 1}",
        f"INSERT INTO store_history VALUES ({CURRENT + 1}, '9.0.0', 0)")  # fmt: skip
    return path


def test_a_store_of_a_newer_release_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = newer_store(tmp_path)
    before = digest(tmp_path)
    with pytest.raises(StoreVersionError) as refused:
        AlertStore(path)
    message = str(refused.value)
    assert f"schema version {CURRENT + 1}, written by aedfleet 9.0.0" in message
    assert "will not touch it" in message and "aedfleet restore" in message
    assert digest(tmp_path) == before


def test_collect_exits_with_the_message_on_a_downgrade(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    newer_store(state)
    before = digest(state)
    inventory = inventory_file(tmp_path / "inventory.csv", ["bz-bc-001"])
    config = tmp_path / "collector.toml"
    config.write_text(f'[alerts]\nstate_dir = "{state}"\n[fleet]\ninventory = "{inventory}"\n'
                      f'[spool]\ndir = "{tmp_path / "spool"}"\n')  # fmt: skip
    result = CliRunner().invoke(main, ["collect", "--config", str(config)])
    assert result.exit_code == 1
    assert "written by aedfleet 9.0.0" in result.output
    assert digest(state) == before
