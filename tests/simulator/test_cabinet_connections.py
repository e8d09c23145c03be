"""A stopped simulated cabinet leaves no connection of its firmware open
(aedfleet/simulator/connections.py): on the board a reset ends every socket."""

from __future__ import annotations

import asyncio
import gc
import warnings

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
