"""A link's reader discarded without being cancelled (CPython's collector finalises a task the
simulator's loop left behind; CI saw one raise in a later test) closes its socket at once and
awaits nothing: Python throws GeneratorExit into a discarded coroutine, which may not await."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from link import Link


def test_a_read_loop_discarded_unawaited_closes_its_socket_and_awaits_nothing() -> None:
    loop = asyncio.new_event_loop()
    ours, theirs = socket.socketpair()
    try:

        async def reading() -> tuple[Any, asyncio.StreamWriter]:
            reader, writer = await asyncio.open_connection(sock=ours)
            link = Link("broker", 1883, "cab", 60, 1000, lambda: 0, lambda _line: None)
            link._reader, link._writer, link.connected = reader, writer, True
            coroutine = link._read_loop()
            loop.create_task(coroutine)
            await asyncio.sleep(0)  # it waits for the broker's first byte
            return coroutine, writer

        coroutine, writer = loop.run_until_complete(reading())
        coroutine.close()  # what the collector does to a discarded coroutine: no exception
        assert writer.transport.is_closing()
    finally:
        loop.run_until_complete(asyncio.sleep(0))
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.close()
        theirs.close()
