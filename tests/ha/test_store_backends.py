"""The alert store keeps the same promises on both backends (a real SQLite file, the session's
real PostgreSQL): alerts, cabinet states with the record of folded sequence numbers, silences
and key places' alerts are given back on reopening; the schema is versioned, migrated once
and a newer one refused untouched."""

from __future__ import annotations

import threading

import pytest

from aedfleet.alerts.engine import AlertEngine, Silence
from aedfleet.alerts.migrations import CURRENT, StoreVersionError, release
from aedfleet.alerts.settings import Settings
from aedfleet.alerts.store import OpenPlace, open_store
from aedfleet.collector.config import AlertsConfig, ConfigError
from aedfleet.notify.messages import Notification
from tests.alerts.test_engine import CAB, MIN, T0
from tests.alerts.test_redelivery import fresh, opening_and_resolution, redelivered
from tests.ha.backends import Backend
from tests.support.postgres import PostgresServer

NOTE = Notification(
    key="k1", recipient="+8613700000001", text="door opened", cabinet_id="bz-bc-001",
    rule="opened", kind="firing", severity="critical",
)  # fmt: skip


def reloaded(backend: Backend) -> AlertEngine:
    engine = AlertEngine(Settings(opened_clear_s=1), broker_grace_ms=0)
    engine.broker_connected(True, 0)
    backend.store().load(engine)
    return engine


def test_alerts_and_the_record_of_folded_messages_survive_a_restart(backend: Backend) -> None:
    alerts = fresh()
    opening_and_resolution(alerts)
    backend.store().save(alerts, {CAB})
    restarted = reloaded(backend)
    assert restarted.cabinets == alerts.cabinets and restarted.alerts == alerts.alerts
    assert restarted.cabinets[CAB].seq_top >= 0
    assert redelivered(restarted, T0 + 10 * MIN) == []  # the folded opening is not news


def test_a_later_save_replaces_a_cabinets_state(backend: Backend) -> None:
    alerts = fresh()
    store = backend.store()
    store.save(alerts, {CAB})
    opening_and_resolution(alerts)
    store.save(alerts, {CAB})
    assert reloaded(backend).cabinets[CAB] == alerts.cabinets[CAB]


def test_silences_are_kept_and_an_old_one_gets_an_id(backend: Backend) -> None:
    engine = AlertEngine(Settings())
    engine.silences = [Silence("bz-bc-001", "", 10**13, "a year, set without a token"),
                       Silence("bz-bc-002", "", 10**13, "works", "id2", "operator")]  # fmt: skip
    store = backend.store()
    store.save(engine, set())
    engine.silences = engine.silences[:1]
    store.save(engine, set())
    [kept] = reloaded(backend).silences
    assert (kept.cabinet_id, len(kept.id)) == ("bz-bc-001", 12)


def test_open_key_places_are_kept(backend: Backend) -> None:
    store = backend.store()
    store.place_opened("mall_square", T0)
    store.place_opened("between", T0 + 1)
    store.place_opened("between", T0 + 2)  # opened again: its new start
    store.place_acknowledged("mall_square", "ops")
    store.place_opened("station", T0 + 3)
    store.place_closed("station")
    assert backend.store().open_places() == {"mall_square": OpenPlace(T0, "ops"),
                                             "between": OpenPlace(T0 + 2, "")}  # fmt: skip


def test_a_new_store_is_at_the_current_version_and_a_reopen_migrates_nothing(
    backend: Backend,
) -> None:
    backend.store()
    backend.store()
    db = backend.database()
    assert db.user_version() == CURRENT
    history = db.execute("SELECT version, release FROM store_history ORDER BY version")
    assert history == [(version, release()) for version in range(2, CURRENT + 1)]


def test_a_store_of_the_first_release_migrates_and_keeps_its_outbox(backend: Backend) -> None:
    backend.store().sends.enqueue(NOTE, "sms", not_before_ms=0, now_ms=1)
    db = backend.database()
    # what the first release left: its tables, version 0, no history
    db.script("DROP TABLE store_history; DROP TABLE place_alerts")
    db.set_user_version(0)
    store = backend.store()
    assert [p.notification for p in store.sends.due(now_ms=10)] == [NOTE]
    assert db.user_version() == CURRENT
    assert store.open_places() == {}


def test_collectors_starting_together_migrate_once(backend: Backend) -> None:
    barrier = threading.Barrier(3)
    failures: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            open_store(backend.config()).close()  # in this thread: SQLite's are per thread
        except BaseException as error:  # reported by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    counted = backend.database().execute("SELECT count(*) FROM store_history")
    assert counted == [(CURRENT - 1,)]


def test_a_store_of_a_newer_release_is_refused_and_left_untouched(backend: Backend) -> None:
    backend.store().sends.enqueue(NOTE, "sms", not_before_ms=0, now_ms=1)
    db = backend.database()
    db.set_user_version(CURRENT + 1)
    db.execute("INSERT INTO store_history VALUES (?, '9.0.0', 0)", (CURRENT + 1,))

    def contents() -> list[object]:
        return [db.execute(f"SELECT * FROM {table} ORDER BY 1")
                for table in ("notifications", "store_history", "alerts", "cabinets")]  # fmt: skip

    before = contents()
    with pytest.raises(StoreVersionError) as refused:
        backend.store()
    message = str(refused.value)
    assert f"schema version {CURRENT + 1}, written by aedfleet 9.0.0" in message
    assert "will not touch it" in message
    assert contents() == before and db.user_version() == CURRENT + 1


def test_a_password_written_into_the_store_url_is_refused(pg_url: str) -> None:
    leaky = pg_url.replace("://aedfleet@", "://aedfleet:hunter2@")
    with pytest.raises(ConfigError, match="AEDFLEET_ALERTS_STORE_PASSWORD") as refused:
        open_store(AlertsConfig(store=leaky))
    assert "hunter2" not in str(refused.value)


def test_a_url_listing_the_primary_and_its_standby_reaches_the_one_that_answers(
    postgres: PostgresServer, pg_url: str
) -> None:
    # docs/ha.md: after a promotion, the collectors find the new primary through this list
    first_gone = pg_url.replace("@127.0.0.1:", "@127.0.0.1:1,127.0.0.1:")
    store = open_store(AlertsConfig(store=first_gone + "?target_session_attrs=read-write",
                                    store_password=postgres.password))  # fmt: skip
    try:
        store.place_opened("mall_square", T0)
        assert store.open_places() == {"mall_square": OpenPlace(T0, "")}
    finally:
        store.close()
