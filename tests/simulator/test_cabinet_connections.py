"""A stopped simulated cabinet leaves no connection of its firmware open
(aedfleet/simulator/connections.py): on the board a reset ends every socket."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import warnings
from typing import Any

from aedfleet.simulator import connections
from aedfleet.simulator.firmware import FACTORY


async def serve_until_closed(closed: asyncio.Event) -> asyncio.Server:
    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the other side closes
        closed.set()
        writer.close()

    return await asyncio.start_server(client, "127.0.0.1", 0)


def test_a_connection_the_firmware_lost_is_closed_when_its_cabinet_stops() -> None:
    async def scenario() -> None:
        closed = asyncio.Event()
        server = await serve_until_closed(closed)
        port = server.sockets[0].getsockname()[1]
        owned: list[asyncio.StreamWriter] = []
        # the firmware's own asyncio, as its link imports it
        firmware_asyncio = FACTORY.load("link").asyncio

        async def firmware_task() -> None:
            # a connect whose result is lost, as CPython 3.11's wait_for loses one that
            # completes just as it is cancelled
            await firmware_asyncio.open_connection("127.0.0.1", port)

        owner = connections.OWNER.set(owned)
        try:
            task = asyncio.create_task(firmware_task())
        finally:
            connections.OWNER.reset(owner)
        await task
        assert len(owned) == 1
        connections.close_all(owned)
        await asyncio.wait_for(closed.wait(), 30)  # the server saw it close
        server.close()
        await server.wait_closed()

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", ResourceWarning)
        asyncio.run(scenario())
        gc.collect()
    assert not [w for w in seen if issubclass(w.category, ResourceWarning)]


class _Writer:
    """Stands for the StreamWriter a completed connect returns: only whether it was closed."""

    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def test_a_connect_cancelled_as_it_completes_is_closed_not_lost(monkeypatch: Any) -> None:
    """The recording wrapper itself can be cancelled between the connection completing and
    its own next step (the same loop turn): the connection must be closed, not dropped."""

    async def scenario() -> _Writer:
        opened: asyncio.Future[tuple[object, _Writer]] = asyncio.get_running_loop().create_future()

        async def connect(*_args: object, **_kwargs: object) -> tuple[object, _Writer]:
            return await opened

        monkeypatch.setattr(asyncio, "open_connection", connect)
        owned: list[asyncio.StreamWriter] = []
        owner = connections.OWNER.set(owned)
        try:
            task = asyncio.create_task(connections.open_connection("127.0.0.1", 1883))
        finally:
            connections.OWNER.reset(owner)
        for _ in range(3):
            await asyncio.sleep(0)  # the wrapper now waits for the connect
        writer = _Writer()
        opened.set_result((object(), writer))
        task.cancel()  # in the same turn: the connect is done, the wrapper not yet resumed
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for _ in range(3):
            await asyncio.sleep(0)
        return writer

    assert asyncio.run(scenario()).closed
