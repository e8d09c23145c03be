"""A simulated cabinet given several brokers (a cluster's nodes) passes them to the firmware's
own code, which tries them in turn: nodes that refuse or close before CONNACK are passed over."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aedfleet.services import LocalServices, free_port
from aedfleet.simulator.clock import SimClock
from aedfleet.simulator.environment import Environment
from aedfleet.simulator.simulated_cabinet import SimulatedCabinet
from tests.support.harness import until

pytestmark = [pytest.mark.asyncio, pytest.mark.services]
CABINET = "bz-bc-001"


@contextlib.asynccontextmanager
async def fake_node(answers: bool) -> AsyncIterator[str]:
    """A node that takes the connection and reads CONNECT, then closes without CONNACK, or
    (`answers` False) says nothing at all: what a NATS node electing a stream leader does
    (issue 25). Its URL."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read(1)
            if not answers:
                await reader.read()  # until the cabinet gives up and closes
        finally:
            writer.close()
            await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        server.close()


async def test_the_cabinet_passes_over_dead_nodes_to_one_that_answers(
    services: LocalServices, tmp_path: Path
) -> None:
    lines: list[str] = []
    clock = SimClock()
    async with fake_node(answers=True) as closing, fake_node(answers=False) as silent:
        nowhere = f"mqtt://127.0.0.1:{free_port()}"  # nothing listens
        cabinet = SimulatedCabinet(
            CABINET, broker=[nowhere, closing, silent, services.mosquitto.url],
            password=services.mosquitto.password(CABINET), ack_timeout_ms=1000,
            data_dir=tmp_path, log=lines.append, clock=clock,
            environment=Environment(random.Random(1), indoor=True, start_ms=clock.start_ms),
        )  # fmt: skip
        assert cabinet.config["brokers"][3] == services.mosquitto.url
        cabinet.start()
        try:
            await until(lambda: cabinet.delivered >= 1, 30, "the boot event delivered")
        finally:
            await cabinet.stop()
    failed = [line for line in lines if "link: connect to" in line]
    assert len(failed) == 3, lines  # one round, so no backoff before the last node
    # under CPython: nothing listens; closed before CONNACK; no CONNACK within 1 s
    assert "ConnectionRefusedError" in failed[0], failed
    assert "IncompleteReadError" in failed[1], failed
    assert "TimeoutError" in failed[2], failed
    connected = [line for line in lines if "link: connected to" in line]
    assert connected == [f"{CABINET} link: connected to {services.mosquitto.url[7:]}"]
