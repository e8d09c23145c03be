"""From the batcher to the sink, and back to the broker as acknowledgements.

The sources add lines and stop reading while the batcher is full (the broker holds the rest);
the flusher takes each batch when it is due, stores it through the sink with two writes in
flight, and acknowledges its messages once it is durable and every older batch is too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Final

from aedfleet.collector.batch import Batch, Batcher
from aedfleet.collector.clock import wall_ms
from aedfleet.collector.mqtt import AckToken

log = logging.getLogger("aedfleet.collector")

WRITES_IN_FLIGHT: Final = 2


class _Unacked:
    """A batch taken for writing: acknowledged once stored and every older batch is."""

    __slots__ = ("done", "tokens")

    def __init__(self, tokens: list[AckToken]) -> None:
        self.tokens = tokens
        self.done = False


class Flusher:
    def __init__(
        self,
        batcher: Batcher[AckToken],
        store: Callable[[Batch[AckToken]], Awaitable[None]],
        ack: Callable[[list[AckToken]], None],
    ) -> None:
        self.batcher = batcher
        self._store = store
        self._ack = ack
        self.taking = True
        self.wake = asyncio.Event()
        self._room = asyncio.Event()
        # MQTT 3.1.1 §4.6: PUBACKs in PUBLISH order, though two writes may finish out of order
        self._unacked: deque[_Unacked] = deque()

    async def wait_for_room(self) -> None:
        while self.batcher.full and self.taking:
            self.wake.set()
            self._room.clear()
            await self._room.wait()

    def stop_taking(self) -> None:
        """Stopping: the sources take nothing more, and none waits for room."""
        self.taking = False
        self._room.set()

    async def run(self) -> None:
        # two writes in flight: InfluxDB parses one batch while the next is on its way
        in_flight = asyncio.Semaphore(WRITES_IN_FLIGHT)
        writing: set[asyncio.Task[None]] = set()
        try:
            while True:
                self.wake.clear()
                batch = self._take_due(wall_ms())
                if batch is None:
                    wait_ms = self.batcher.ms_until_due(wall_ms())
                    timeout_s = (wait_ms if wait_ms is not None else 1000) / 1000
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.wake.wait(), timeout_s)
                    continue
                await in_flight.acquire()
                unacked = _Unacked(batch.tokens)
                self._unacked.append(unacked)
                task = asyncio.create_task(self._store_and_ack(batch, unacked, in_flight))
                writing.add(task)
                task.add_done_callback(writing.discard)
        finally:
            await asyncio.gather(*writing, return_exceptions=True)

    async def _store_and_ack(
        self, batch: Batch[AckToken], unacked: _Unacked, in_flight: asyncio.Semaphore
    ) -> None:
        stored = False
        try:
            await self._store(batch)
            stored = True
        except Exception:
            log.exception("a batch of %d lines could not be stored", len(batch.lines))
        finally:
            if not stored:
                # not durable (failed or cancelled): never acknowledged, so the broker sends it
                # again after a reconnect; the batches after it must not wait for it
                unacked.tokens = []
            unacked.done = True
            self._ack_stored()
            in_flight.release()

    def _ack_stored(self) -> None:
        """Acknowledge every stored batch not waiting behind an older one still in flight."""
        queue = self._unacked
        while queue and queue[0].done:
            self._ack(queue.popleft().tokens)

    def _take_due(self, now_ms: int, *, everything: bool = False) -> Batch[AckToken] | None:
        if not (self.batcher.pending if everything else self.batcher.due(now_ms)):
            return None
        batch = self.batcher.take()
        self._room.set()
        return batch

    async def drain(self) -> None:
        """After `run` is cancelled: store and acknowledge everything still taken."""
        self._ack_stored()
        while (batch := self._take_due(wall_ms(), everything=True)) is not None:
            await self._store(batch)
            self._ack(batch.tokens)
