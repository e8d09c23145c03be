"""The collector's MQTT reader given a list of brokers (the nodes of a cluster, docs/ha.md):
what a node in a leader election does (closes before CONNACK, never answers, refuses a
SUBSCRIBE with 0x80) sends the reader to the next node; a node that has no session for it
is counted; the configuration names the nodes and refuses a connect timeout under 8 s."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest

from aedfleet.collector.config import ConfigError, load_config
from aedfleet.collector.mqtt import AckToken, MqttSource
from aedfleet.collector.sources import Sources
from tests.support.fake_broker import (
    CONNECT,
    PUBACK,
    SUBSCRIBE,
    Connection,
    FakeBroker,
    Script,
    connack,
    publish,
    until,
)

TOPIC = "aed/v1/bz-bc-001/event"
Received = list[tuple[str, bytes, AckToken]]


@asynccontextmanager
async def reading_from(
    *brokers: FakeBroker, connect_timeout_s: float = 10.0
) -> AsyncIterator[tuple[MqttSource, Received]]:
    received: Received = []
    async with AsyncExitStack() as stack:
        for broker in brokers:
            await stack.enter_async_context(broker.running())
        source = MqttSource(
            name="events", urls=[b.url for b in brokers], client_id="collector-events",
            subscriptions=["aed/v1/+/event", "aed/v1/+/status"],
            handler=lambda topic, payload, token: received.append((topic, payload, token)),
            min_backoff_s=0.01, connect_timeout_s=connect_timeout_s,
        )  # fmt: skip
        task = asyncio.create_task(source.run())
        try:
            yield source, received
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await source.stop()


def delivering(payload: bytes, *, session_present: bool = True) -> Script:
    """A good node: handshake, one message, then pings answered."""

    async def script(conn: Connection) -> None:
        await conn.handshake(session_present=session_present)
        conn.send(publish(TOPIC, payload, packet_id=7))
        await conn.serve()

    return script


async def closes_before_connack(conn: Connection) -> None:
    await conn.expect(CONNECT)


async def never_answers(conn: Connection) -> None:
    await conn.expect(CONNECT)
    await conn.serve()  # reads on, says nothing: a node waiting for its stream leader


async def refuses_subscribe(conn: Connection) -> None:
    await conn.expect(CONNECT)
    conn.send(connack(session_present=True))
    await conn.grant(0x80)  # a consumer being created: "Failure" for each filter
    await conn.serve()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "electing", [closes_before_connack, refuses_subscribe], ids=lambda f: f.__name__
)
async def test_a_node_in_an_election_sends_the_reader_to_the_next(electing: Script) -> None:
    first, second = FakeBroker(electing), FakeBroker(delivering(b"from the second"))
    async with reading_from(first, second) as (source, received):
        await until(lambda: len(received) == 1)
        assert received[0][:2] == (TOPIC, b"from the second")
        assert source.address.port == second.port
        assert len(first.connections) == 1 and len(second.connections) == 1
        source.ack([received[0][2]])
        (conn,) = second.connections
        await until(lambda: conn.acks(PUBACK) == [7])


@pytest.mark.asyncio
async def test_a_node_that_never_sends_connack_is_left_after_the_connect_timeout() -> None:
    first, second = FakeBroker(never_answers), FakeBroker(delivering(b"second"))
    async with reading_from(first, second, connect_timeout_s=0.3) as (source, received):
        await until(lambda: len(received) == 1)
        assert source.failures["timeout"] == 1
        assert source.address.port == second.port


@pytest.mark.asyncio
async def test_every_node_failing_is_retried_round_after_round() -> None:
    nodes = [FakeBroker(closes_before_connack) for _ in range(3)]
    async with reading_from(*nodes) as (source, _received):
        await until(lambda: all(len(n.connections) >= 2 for n in nodes))
        await until(lambda: source.failures["closed"] >= 6)
        assert not source.connected.is_set()


@pytest.mark.asyncio
async def test_failing_over_to_a_node_without_the_session_is_counted() -> None:
    """A node that answers session present = 0 after a failover has lost what was queued
    for the collector (a cluster without replicated MQTT streams): counted and logged."""

    async def then_dies(conn: Connection) -> None:
        await conn.handshake(session_present=False)  # the first connection: a new session
        conn.send(publish(TOPIC, b"before", packet_id=1))
        await conn.drain()
        await conn.expect(PUBACK)  # then the node dies

    first, second = FakeBroker(then_dies), FakeBroker(delivering(b"after", session_present=False))
    async with reading_from(first, second) as (source, received):
        await until(lambda: len(received) == 1)
        source.ack([received[0][2]])
        await until(lambda: len(received) == 2)
        assert [payload for _t, payload, _a in received] == [b"before", b"after"]
        assert source.sessions_lost == 1
        assert source.reconnects == 1


@pytest.mark.asyncio
async def test_session_present_after_a_failover_is_not_a_loss() -> None:
    async def then_dies(conn: Connection) -> None:
        await conn.handshake(session_present=False)
        await conn.drain()

    first, second = FakeBroker(then_dies), FakeBroker(delivering(b"queued"))
    async with reading_from(first, second) as (source, received):
        await until(lambda: len(received) == 1)
        assert source.sessions_lost == 0 and source.reconnects == 1


@pytest.mark.asyncio
async def test_the_subscribe_goes_again_on_every_node() -> None:
    async def grants_then_closes(conn: Connection) -> None:
        await conn.handshake(session_present=False)

    first, second = FakeBroker(grants_then_closes), FakeBroker(delivering(b"x"))
    async with reading_from(first, second) as (_source, received):
        await until(lambda: len(received) == 1)
        for broker in (first, second):
            kinds = [packet_type >> 4 for packet_type, _ in broker.connections[0].received]
            assert kinds[:2] == [CONNECT, SUBSCRIBE]


def test_the_configuration_lists_the_nodes_and_the_sources_use_them(tmp_path: Path) -> None:
    path = tmp_path / "collector.toml"
    path.write_text(
        '[mqtt]\nurls = ["mqtt://127.0.0.1:1883", "mqtt://127.0.0.1:1884"]\nconnect_timeout_s = 8\n'
    )
    config = load_config(path, environ={})
    assert config.mqtt.brokers() == ["mqtt://127.0.0.1:1883", "mqtt://127.0.0.1:1884"]
    assert load_config(None, environ={}).mqtt.brokers() == ["mqtt://127.0.0.1:1883"]

    async def room() -> None:
        return None

    sources = Sources(config.mqtt, lambda _t, _p, _a: None, room)
    for source in sources.both:
        assert [broker.port for broker in source.brokers] == [1883, 1884]
    assert sources.brokers() == {"telemetry": "127.0.0.1:1883", "events": "127.0.0.1:1883"}


def test_a_connect_timeout_under_8_s_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "collector.toml"
    path.write_text("[mqtt]\nconnect_timeout_s = 4\n")
    with pytest.raises(ConfigError, match="connect_timeout_s"):
        load_config(path, environ={})


def test_an_empty_list_of_brokers_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        MqttSource(name="x", urls=[], client_id="c", subscriptions=[], handler=print)
