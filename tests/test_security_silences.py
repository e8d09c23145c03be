"""Issue 14, item 9: silences cannot stall the event loop. Their number and reasons are capped
(tests/integration/test_security_http_api.py), and an event's save no longer rewrites them."""

from __future__ import annotations

from pathlib import Path

from aedfleet.alerts.engine import AlertEngine, Silence
from aedfleet.alerts.settings import Settings
from aedfleet.alerts.store import AlertStore
from aedfleet.sqldb import SqliteDatabase


def test_saving_an_event_rewrites_the_silences_only_when_they_changed(tmp_path: Path) -> None:
    engine = AlertEngine(Settings())
    engine.silences = [Silence(f"bz-bc-{n:03d}", "", 10**13, "r" * 200, f"id{n}", "operator")
                       for n in range(500)]  # fmt: skip
    store = AlertStore(tmp_path / "alerts.sqlite3")
    statements: list[str] = []
    assert isinstance(store._db, SqliteDatabase)
    store._db.connection.set_trace_callback(statements.append)  # what SQLite is asked to run
    for _event in range(20):
        store.save(engine, {"bz-bc-001"})
    assert sum("silences" in s for s in statements if s.startswith("DELETE")) == 1
    engine.silences = engine.silences[1:]
    store.save(engine, {"bz-bc-001"})
    assert sum("silences" in s for s in statements if s.startswith("DELETE")) == 2
    store.close()
    reloaded = AlertEngine(Settings())
    AlertStore(tmp_path / "alerts.sqlite3").load(reloaded)
    assert len(reloaded.silences) == 499 and reloaded.silences[0].by == "operator"


def test_a_silence_stored_before_silences_had_ids_can_be_lifted(tmp_path: Path) -> None:
    engine = AlertEngine(Settings())
    engine.silences = [Silence("bz-bc-001", "", 10**13, "a year, set without a token")]
    store = AlertStore(tmp_path / "alerts.sqlite3")
    store.save(engine, set())
    store.close()
    reloaded = AlertEngine(Settings())
    AlertStore(tmp_path / "alerts.sqlite3").load(reloaded)
    assert len(reloaded.silences[0].id) == 12
