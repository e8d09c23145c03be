"""Sends queued notifications without ever blocking ingestion: retries with backoff on
transport errors, 5xx and 429 only; a timeout's outcome is unknown, so it is not resent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from typing import Final

from aedfleet.collector import lineprotocol as lp
from aedfleet.collector.clock import wall_ms
from aedfleet.notify.messages import (
    Notification,
    Notifier,
    PermanentError,
    RetryableError,
    UnknownOutcomeError,
)
from aedfleet.notify.sendqueue import PendingSend, SendQueue

log = logging.getLogger("aedfleet.notify")
MAX_ATTEMPTS: Final = 6
SENDS_IN_FLIGHT: Final = 8


def masked(recipient: str) -> str:
    """A phone number as it may be stored and shown: +86138****0000."""
    if len(recipient) < 8 or not recipient.lstrip("+").isdigit():
        return recipient
    return recipient[:6] + "****" + recipient[-4:]


def masked_key(key: str) -> str:
    """An idempotency key as it may be stored and logged: its recipient part masked."""
    head, _, recipient = key.rpartition(":")
    return f"{head}:{masked(recipient)}" if head else masked(key)


def notification_line(
    notification: Notification, channel: str, outcome: str, attempts: int, error: str, at_ms: int
) -> str:
    return (
        f"notification,cabinet={lp.tag(notification.cabinet_id)},rule={lp.tag(notification.rule)},"
        f"kind={lp.tag(notification.kind)},channel={lp.tag(channel)},outcome={outcome},"
        # the masked recipient as a tag: the duty officer's and the guardian's sends of one
        # transition in one millisecond are two points, not one overwriting the other
        f"to={lp.tag(masked(notification.recipient))} "
        f"attempts={attempts}i,recipient={lp.string(masked(notification.recipient))},"
        f"key={lp.string(masked_key(notification.key))},error={lp.string(error[:200])} {at_ms}"
    )


class Dispatcher:
    def __init__(
        self,
        sends: SendQueue,
        notifiers: dict[str, Notifier],
        write_line: Callable[[str], None],
        *,
        base_backoff_ms: int = 1000,
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        self._clock = clock
        self._sends = sends
        self._notifiers = notifiers
        self._write_line = write_line
        self._base_backoff_ms = base_backoff_ms
        self.wake = asyncio.Event()
        self._in_flight: set[str] = set()
        self.sent = 0
        self.failed = 0

    async def run(self) -> None:
        slots = asyncio.Semaphore(SENDS_IN_FLIGHT)
        tasks: set[asyncio.Task[None]] = set()
        while True:
            self.wake.clear()
            for item in self._sends.due(self._clock()):
                if item.notification.key in self._in_flight:
                    continue
                await slots.acquire()
                self._in_flight.add(item.notification.key)
                task = asyncio.create_task(self._attempt(item, slots))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), 0.5)

    async def _attempt(self, item: PendingSend, slots: asyncio.Semaphore) -> None:
        notification, channel = item.notification, item.channel
        attempts = item.attempts + 1
        outcome, error, provider_id, retry_at = "sent", "", "", None
        if not self._sends.claim(notification.key):  # sent or being sent by another collector
            self._in_flight.discard(notification.key)
            slots.release()
            return
        try:
            provider_id = await self._notifiers[channel].send(notification)
        except RetryableError as failure:
            error = str(failure)
            if attempts < MAX_ATTEMPTS:
                outcome = "retry"
                backoff = self._base_backoff_ms * 2 ** (attempts - 1)
                retry_at = self._clock() + int(backoff * random.uniform(0.8, 1.2))
            else:
                outcome = "failed"
        except UnknownOutcomeError as failure:
            outcome, error = "unknown", str(failure)
        except PermanentError as failure:
            outcome, error = "failed", str(failure)
        finally:
            self._in_flight.discard(notification.key)
            slots.release()
        status = {"retry": "pending"}.get(outcome, outcome)
        now = self._clock()
        self._sends.record(
            notification.key, status=status, now_ms=now, error=error,
            provider_id=provider_id, retry_at_ms=retry_at,
        )  # fmt: skip
        self._write_line(notification_line(notification, channel, outcome, attempts, error, now))
        if outcome == "sent":
            self.sent += 1
        elif outcome != "retry":
            self.failed += 1
            log.error("notification %s to %s: %s: %s", masked_key(notification.key),
                      masked(notification.recipient), outcome, error)  # fmt: skip
