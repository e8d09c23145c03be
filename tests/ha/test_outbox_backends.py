"""The notification outbox on both backends (a real SQLite file, the session's real
PostgreSQL): queued once under its idempotency key, and a notification that was sent, or whose
outcome is unknown, is never sent again: not after a restart, and not by a second collector
working on the same database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from aedfleet.notify.demo_outbox import FileOutboxNotifier
from aedfleet.notify.dispatcher import Dispatcher
from aedfleet.notify.messages import Notification
from tests.ha.backends import Backend
from tests.support.harness import until


def note(n: int) -> Notification:
    return Notification(
        key=f"bz-bc-001:opened:{n}:firing:+8613700000001", recipient="+8613700000001",
        text=f"door opened #{n}", cabinet_id="bz-bc-001", rule="opened", kind="firing",
        severity="critical",
    )  # fmt: skip


def test_a_key_is_queued_once_even_from_another_store(backend: Backend) -> None:
    first, second = backend.store(), backend.store()
    assert first.sends.enqueue(note(1), "sms", not_before_ms=0, now_ms=1)
    assert not second.sends.enqueue(note(1), "sms", not_before_ms=0, now_ms=2)
    assert not first.sends.enqueue(note(1), "sms", not_before_ms=0, now_ms=3)
    assert second.sends.statuses() == {note(1).key: "pending"}


def test_due_sends_come_oldest_first_and_wait_for_their_time(backend: Backend) -> None:
    sends = backend.store().sends
    sends.enqueue(note(1), "sms", not_before_ms=0, now_ms=20)
    sends.enqueue(note(2), "webhook", not_before_ms=0, now_ms=10)
    sends.enqueue(note(3), "sms", not_before_ms=500, now_ms=5)
    sends.enqueue(note(4), "sms", not_before_ms=0, now_ms=1, status="over_budget")
    assert [(p.notification.key, p.channel) for p in sends.due(now_ms=100)] == [
        (note(2).key, "webhook"), (note(1).key, "sms")]  # fmt: skip
    assert len(sends.due(now_ms=100, limit=1)) == 1
    assert [p.notification for p in sends.due(now_ms=500)] == [note(3), note(2), note(1)]


def test_a_retry_waits_and_counts_its_attempts(backend: Backend) -> None:
    sends = backend.store().sends
    sends.enqueue(note(1), "sms", not_before_ms=0, now_ms=1)
    assert sends.claim(note(1).key)
    sends.record(note(1).key, status="pending", now_ms=10, error="503", retry_at_ms=2_000)
    assert sends.due(now_ms=1_999) == []
    [again] = sends.due(now_ms=2_000)
    assert again.attempts == 1
    assert sends.claim(note(1).key)
    sends.record(note(1).key, status="sent", now_ms=2_100, provider_id="SM1")
    assert sends.due(now_ms=10**13) == []
    assert not sends.claim(note(1).key)


def test_a_send_cut_short_is_unknown_after_a_restart_and_never_sent_again(
    backend: Backend,
) -> None:
    before = backend.store().sends
    before.enqueue(note(1), "sms", not_before_ms=0, now_ms=1)
    before.enqueue(note(2), "sms", not_before_ms=0, now_ms=1)
    assert before.claim(note(1).key)  # ... and the collector dies while the provider answers
    after = backend.store().sends
    assert after.statuses() == {note(1).key: "unknown", note(2).key: "pending"}
    assert [p.notification for p in after.due(now_ms=10)] == [note(2)]
    assert not after.claim(note(1).key)


def test_of_two_collectors_that_found_a_send_due_only_one_claims_it(backend: Backend) -> None:
    one, other = backend.store().sends, backend.store().sends
    one.enqueue(note(1), "sms", not_before_ms=0, now_ms=1)
    assert [p.notification for p in one.due(10)] == [p.notification for p in other.due(10)]
    assert [one.claim(note(1).key), other.claim(note(1).key)] == [True, False]
    one.record(note(1).key, status="sent", now_ms=11)
    assert other.due(10**13) == [] and not other.claim(note(1).key)


@pytest.mark.asyncio
async def test_two_dispatchers_on_one_database_send_each_notification_once(
    backend: Backend, tmp_path: Path
) -> None:
    count = 40
    stores = [backend.store(), backend.store()]
    for n in range(count):
        stores[n % 2].sends.enqueue(note(n), "sms", not_before_ms=0, now_ms=n)
    phone = tmp_path / "phone.txt"  # the demo's notifier: each SMS a line, both append to it
    dispatchers = [Dispatcher(store.sends, {"sms": FileOutboxNotifier(phone)}, lambda _: None,
                              clock=lambda: 10**6) for store in stores]  # fmt: skip
    running = [asyncio.create_task(d.run()) for d in dispatchers]
    try:
        await until(lambda: set(stores[0].sends.statuses().values()) == {"sent"}, 60,
                    "every notification sent")  # fmt: skip
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
    texts = [line.partition(": ")[2] for line in phone.read_text().splitlines()]
    assert sorted(texts) == sorted(f"door opened #{n}" for n in range(count))
    assert sum(d.sent for d in dispatchers) == count
