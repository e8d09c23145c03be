"""The collector's MQTT reader against a scripted broker: every way a broker may close,
refuse, grant less, forget a session, send QoS 2, send too much, or split its bytes; the
reader reconnects, refuses or counts, and never ends for good."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from aedfleet.collector import mqttwire as wire
from aedfleet.collector.mqtt import AckToken, MqttSource
from tests.support.fake_broker import (
    CONNECT,
    PINGREQ,
    PUBREC,
    SUBSCRIBE,
    Connection,
    FakeBroker,
    Script,
    connack,
    publish,
    publish_of_length,
    suback,
    until,
)

pytestmark = pytest.mark.asyncio
TOPIC = "aed/v1/bz-bc-001/event"
Received = list[tuple[str, bytes, AckToken]]


@asynccontextmanager
async def reading(
    *scripts: Script, **options: int
) -> AsyncIterator[tuple[FakeBroker, MqttSource, Received]]:
    received: Received = []
    async with FakeBroker(*scripts).running() as broker:
        source = MqttSource(
            name="events", urls=[broker.url], client_id="collector-events",
            subscriptions=["aed/v1/+/event", "aed/v1/+/status"],
            handler=lambda topic, payload, token: received.append((topic, payload, token)),
            min_backoff_s=0.01, **options,  # type: ignore[arg-type]
        )  # fmt: skip
        task = asyncio.create_task(source.run())
        try:
            yield broker, source, received
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await source.stop()


async def delivers(conn: Connection, packet_id: int = 1) -> None:
    """A good broker: handshake, one message, then pings answered."""
    await conn.handshake(session_present=True)
    conn.send(publish(TOPIC, b"after", packet_id=packet_id))
    await conn.serve()


def close_after(step: Callable[[Connection], object]) -> Script:
    async def script(conn: Connection) -> None:
        result = step(conn)
        if asyncio.iscoroutine(result):
            await result
        await conn.drain()

    return script


async def before_connack(conn: Connection) -> None:
    await conn.expect(CONNECT)


async def mid_connack(conn: Connection) -> None:
    await conn.expect(CONNECT)
    conn.send(connack()[:3])


async def after_connack(conn: Connection) -> None:
    await conn.expect(CONNECT)
    conn.send(connack())


async def before_suback(conn: Connection) -> None:
    await after_connack(conn)
    await conn.expect(SUBSCRIBE)


async def after_suback(conn: Connection) -> None:
    await before_suback(conn)
    conn.send(suback(1, [1, 1]))


async def mid_publish(conn: Connection) -> None:
    await after_suback(conn)
    conn.send(publish(TOPIC, b"cut short", packet_id=9)[:-3])


async def mid_length(conn: Connection) -> None:
    await after_suback(conn)
    conn.send(publish_of_length(TOPIC, 20_000)[:2])  # inside the remaining-length varint


@pytest.mark.parametrize(
    "stage",
    [before_connack, mid_connack, after_connack, before_suback, after_suback, mid_publish,
     mid_length],
    ids=lambda f: f.__name__,
)  # fmt: skip
async def test_a_close_at_any_stage_is_counted_and_followed_by_a_reconnect(
    stage: Callable[[Connection], object],
) -> None:
    async with reading(close_after(stage), delivers) as (broker, source, received):
        await until(lambda: len(received) == 1)
        await broker.connections_made(2)
        assert [(t, p) for t, p, _ in received] == [(TOPIC, b"after")]  # nothing half-read
        assert source.failures["closed"] == 1
        await until(source.subscribed.is_set)


@pytest.mark.parametrize("code", [1, 2, 3, 4, 5, 6])
async def test_each_connack_refusal_is_counted_never_connected_and_retried(code: int) -> None:
    async def refuse(conn: Connection) -> None:
        await conn.expect(CONNECT)
        conn.send(connack(code))
        await conn.drain()

    async with reading(refuse, refuse, delivers) as (broker, source, received):
        await until(lambda: len(received) == 1)
        assert source.failures["refused"] == 2
        assert len(broker.connections) == 3


@pytest.mark.parametrize("granted", [0, 0x80])
async def test_a_subscription_not_granted_at_qos_1_is_a_refusal(granted: int) -> None:
    async def grant_less(conn: Connection) -> None:
        await conn.handshake(granted=granted)
        await conn.serve()

    async with reading(grant_less, delivers) as (_broker, source, received):
        await until(lambda: len(received) == 1)
        assert source.subscriptions_refused == 1
        assert source.failures["subscription_refused"] == 1
        await until(source.subscribed.is_set)  # the good broker's grant


async def test_subscribed_only_once_every_subscription_is_granted() -> None:
    granted = asyncio.Event()

    async def slow_suback(conn: Connection) -> None:
        await conn.expect(CONNECT)
        conn.send(connack())
        await conn.expect(SUBSCRIBE)
        await granted.wait()
        conn.send(suback(1, [1, 1]))
        await conn.serve()

    async with reading(slow_suback) as (broker, source, _received):
        await broker.connections_made(1)
        await until(lambda: len(broker.connections[0].received) == 2)
        assert source.connected.is_set() and not source.subscribed.is_set()
        granted.set()
        await until(source.subscribed.is_set)


async def test_a_lost_session_is_counted_when_one_was_expected() -> None:
    async def first(conn: Connection) -> None:
        await conn.handshake(session_present=False)  # a first start: nothing expected

    async def forgot(conn: Connection) -> None:
        await conn.handshake(session_present=False)

    async with reading(first, forgot, delivers) as (_broker, source, received):
        await until(lambda: len(received) == 1)
        assert source.sessions_lost == 1  # the second; the third had its session


async def test_qos_2_is_answered_pubrec_once_durable_then_pubcomp() -> None:
    async def qos2(conn: Connection) -> None:
        await conn.handshake(session_present=True)
        conn.send(publish(TOPIC, b"exactly once", qos=2, packet_id=42))
        await conn.expect(PUBREC)
        conn.send(bytes([0x62, 2, 0, 42]))  # PUBREL
        await conn.serve()

    async with reading(qos2) as (broker, source, received):
        await until(lambda: len(received) == 1)
        assert received[0][2].qos == 2
        assert broker.connections[0].acks(PUBREC) == []  # not before it is durable
        source.ack([received[0][2]])
        await until(lambda: broker.connections[0].acks(7) == [42])  # PUBCOMP
        assert broker.connections[0].acks(PUBREC) == [42]
        assert broker.connections[0].acks() == []  # no PUBACK for QoS 2
        assert source.reconnects == 0


async def test_an_oversize_publish_is_cut_counted_acknowledged_and_the_rest_kept() -> None:
    async def oversize(conn: Connection) -> None:
        await conn.handshake(session_present=True)
        conn.send(publish(TOPIC, b"before", packet_id=1))
        conn.send(publish(TOPIC, b"x" * 5_000_000, packet_id=2))
        conn.send(publish(TOPIC, b"after", packet_id=3))
        await conn.serve()

    async with reading(oversize, max_packet_bytes=4096) as (broker, source, received):
        await until(lambda: len(received) == 3)
        assert [p for _, p, _ in received][::2] == [b"before", b"after"]
        topic, cut, token = received[1]
        assert topic == TOPIC and len(cut) < 4096 and token.packet_id == 2
        assert source.oversize == 1
        source.ack(token for _, _, token in received)
        await until(lambda: broker.connections[0].acks() == [1, 2, 3])
        assert len(broker.connections) == 1  # no reconnect: the stream stayed in step


@pytest.mark.parametrize("remaining", [127, 128, 16_383, 16_384, 2_097_151, 2_097_152])
async def test_remaining_length_boundaries(remaining: int) -> None:
    async def sized(conn: Connection) -> None:
        await conn.handshake(session_present=True)
        conn.send(publish_of_length(TOPIC, remaining, packet_id=5))
        conn.send(publish(TOPIC, b"next", packet_id=6))
        await conn.serve()

    async with reading(sized) as (broker, source, received):
        await until(lambda: len(received) == 2)
        payload = received[0][1]
        whole = remaining - 2 - len(TOPIC) - 2
        if remaining <= wire.MAX_PACKET_BYTES:
            assert payload == b"p" * whole and source.oversize == 0
        else:
            assert payload == b"p" * len(payload) and len(payload) < whole
            assert source.oversize == 1
        assert received[1][1] == b"next"
        assert len(broker.connections) == 1


async def test_a_stream_written_one_byte_at_a_time_reads_whole() -> None:
    stream = b"".join(
        [publish_of_length(TOPIC, n, packet_id=n) for n in (127, 128, 300)]
        + [publish(TOPIC, b"", qos=0), publish(TOPIC, b"last", packet_id=9)]
    )

    async def trickle(conn: Connection) -> None:
        await conn.handshake(session_present=True)
        for index in range(len(stream)):
            conn.send(stream[index : index + 1])
            await conn.drain()
            await asyncio.sleep(0)
        await conn.serve()

    async with reading(trickle) as (_broker, _source, received):
        await until(lambda: len(received) == 5)
        assert [token.packet_id for _, _, token in received] == [127, 128, 300, 0, 9]
        assert received[-1][1] == b"last"


async def test_a_pause_for_backpressure_longer_than_the_keepalive_keeps_the_session() -> None:
    room = asyncio.Event()
    room.set()
    received: Received = []

    def handler(topic: str, payload: bytes, token: AckToken) -> None:
        received.append((topic, payload, token))
        room.clear()  # the queue is full: stop reading

    async def wait_for_room() -> None:
        await room.wait()

    def pings(conn: Connection) -> int:
        return sum(1 for first, _ in conn.received if first >> 4 == PINGREQ)

    async with FakeBroker().running() as broker:
        source = MqttSource(
            name="telemetry", urls=[broker.url], client_id="c", subscriptions=["aed/v1/+/event"],
            handler=handler, room=wait_for_room, keepalive_s=1, min_backoff_s=0.01,
        )  # fmt: skip
        task = asyncio.create_task(source.run())
        try:
            (conn,) = await broker.connections_made(1)
            await until(source.connected.is_set)
            conn.send(publish(TOPIC, b"fills the queue", packet_id=1))
            await until(lambda: len(received) == 1)
            # six pings (three keepalive periods) go out while nothing is read
            await until(lambda: pings(conn) >= 6)
            room.set()
            conn.send(publish(TOPIC, b"read again", packet_id=2))
            await until(lambda: len(received) == 2)
            assert len(broker.connections) == 1
            assert not source.failures and source.reconnects == 0
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await source.stop()
