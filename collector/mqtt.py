"""The MQTT source: an asyncio QoS 1 subscriber with a persistent session and acknowledgement
only after the service says a message is durable.

Why not aiomqtt or paho here: aiomqtt acknowledges QoS 1 on receipt (a crash loses what sits in
its queue), and paho's receive path alone costs about 37 µs of CPU per message on this machine
(three socket reads per packet), more than the collector's whole budget. This source reads the
socket in 64 KiB chunks, decodes every whole packet in one pass (mqttwire.py) and sends the
PUBACKs of a stored batch in one write. Acknowledgement tokens carry the connection generation:
after a reconnect the broker resends whatever was not acknowledged, so a token from an older
connection is never sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import Final, NamedTuple
from urllib.parse import urlsplit

from collector import mqttwire as wire

log = logging.getLogger(__name__)

READ_CHUNK: Final = 65_536
MIN_BACKOFF_S: Final = 0.5
MAX_BACKOFF_S: Final = 30.0


class AckToken(NamedTuple):
    source: str  # which connection the message came on
    generation: int
    packet_id: int
    qos: int


TELEMETRY_SOURCE: Final = "telemetry"
EVENT_SOURCE: Final = "events"
NO_ACK: Final = AckToken("", -1, 0, 0)  # a point of our own: nothing to acknowledge


MessageHandler = Callable[[str, bytes, AckToken], None]


class BrokerAddress(NamedTuple):
    host: str
    port: int
    tls: bool


def parse_broker_url(url: str) -> BrokerAddress:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"broker URL must be mqtt://host:port or mqtts://host:port, not {url!r}")
    tls = parts.scheme == "mqtts"
    return BrokerAddress(parts.hostname, parts.port or (8883 if tls else 1883), tls)


class BrokerRefusedError(Exception):
    """The broker answered CONNACK with a refusal (bad credentials, not authorised, ...)."""


async def _no_wait() -> None:
    return None


def _refused_subscription(packet: wire.Control) -> bool:
    return packet.kind == wire.SUBACK and b"\x80" in packet.body[2:]


class MqttSource:
    """Connects, subscribes on every connect, and hands each PUBLISH to `handler`.

    `room` is awaited between reads: while it waits nothing is read, TCP fills up and the
    broker holds the rest (backpressure).
    """

    def __init__(
        self,
        *,
        name: str,
        url: str,
        client_id: str,
        subscriptions: list[str],
        handler: MessageHandler,
        room: Callable[[], Awaitable[None]] = _no_wait,
        username: str = "",
        password: str = "",
        ca_file: str = "",
        keepalive_s: int = 30,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self.name = name
        self._address = parse_broker_url(url)
        self._client_id = client_id
        self._subscriptions = subscriptions
        self._handler = handler
        self._room = room
        self._username = username
        self._password = password
        self._keepalive_s = keepalive_s
        self._connect_timeout_s = connect_timeout_s
        self._ssl: ssl.SSLContext | None = None
        if self._address.tls:
            self._ssl = ssl.create_default_context(cafile=ca_file or None)
        self._writer: asyncio.StreamWriter | None = None
        self._generation = 0
        self._last_rx = 0.0
        self.reconnects = 0
        self.connected = asyncio.Event()

    async def run(self) -> None:
        """Stay connected until cancelled, reconnecting with capped backoff and jitter."""
        backoff_s = MIN_BACKOFF_S
        while True:
            try:
                await self._session()
                backoff_s = MIN_BACKOFF_S
            except (OSError, TimeoutError, wire.ProtocolError, BrokerRefusedError) as error:
                log.warning("broker connection: %s; retrying in %.1f s", error, backoff_s)
            finally:
                self.connected.clear()
                await self._close()
            await asyncio.sleep(backoff_s * random.uniform(0.8, 1.2))
            backoff_s = min(MAX_BACKOFF_S, backoff_s * 2)

    async def _session(self) -> None:
        host, port, _tls = self._address
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=self._ssl, limit=4 * READ_CHUNK),
            self._connect_timeout_s,
        )
        self._writer = writer
        writer.write(
            wire.connect(
                self._client_id,
                keepalive_s=self._keepalive_s,
                clean_session=False,
                username=self._username,
                password=self._password,
            )
        )
        header = await asyncio.wait_for(reader.readexactly(4), self._connect_timeout_s)
        packets, _used = wire.parse(header)
        if not packets or not isinstance(packets[0], wire.Control):
            raise wire.ProtocolError("expected CONNACK")
        if packets[0].kind != wire.CONNACK:
            raise wire.ProtocolError("expected CONNACK")
        refusal = wire.connack_error(packets[0].body)
        if refusal is not None:
            raise BrokerRefusedError(f"broker refused the connection: {refusal}")
        self._generation += 1
        if self._generation > 1:
            self.reconnects += 1
        # Mosquitto 2.0.11 can forget durable subscriptions across a restart: subscribe always
        writer.write(wire.subscribe(1, [(topic, 1) for topic in self._subscriptions]))
        log.info("connected to %s:%s", host, port)
        self.connected.set()
        self._last_rx = asyncio.get_running_loop().time()
        pinger = asyncio.create_task(self._ping(writer))
        try:
            await self._read(reader)
        finally:
            pinger.cancel()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        buffer = b""
        handler = self._handler
        generation = self._generation
        name = self.name
        loop = asyncio.get_running_loop()
        while True:
            await self._room()
            chunk = await reader.read(READ_CHUNK)
            if not chunk:
                raise ConnectionError("broker closed the connection")
            self._last_rx = loop.time()
            buffer = buffer + chunk if buffer else chunk
            packets, used = wire.parse(buffer)
            buffer = buffer[used:]
            for packet in packets:
                if type(packet) is wire.Publish:
                    token = AckToken(name, generation, packet.packet_id, packet.qos)
                    handler(packet.topic, packet.payload, token)
                elif isinstance(packet, wire.Control) and _refused_subscription(packet):
                    log.error("broker refused a subscription (ACL?): %s", self._subscriptions)

    async def _ping(self, writer: asyncio.StreamWriter) -> None:
        # a broker that says nothing for 1.5 keepalives (it answers our pings) is gone or
        # frozen: closing the socket ends the read loop, and run() reconnects
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._keepalive_s / 2)
            if loop.time() - self._last_rx > self._keepalive_s * 1.5:
                log.warning("broker silent for %.0f s; reconnecting", loop.time() - self._last_rx)
                writer.close()
                return
            writer.write(wire.PINGREQ_PACKET)

    def ack(self, tokens: Iterable[AckToken]) -> None:
        """Acknowledge messages now durable; tokens of an older connection are skipped."""
        writer = self._writer
        if writer is None or writer.is_closing():
            return
        generation = self._generation
        acks = b"".join(
            wire.puback(token.packet_id)
            for token in tokens
            if token.qos and token.generation == generation
        )
        if acks:
            writer.write(acks)

    async def stop(self) -> None:
        """Disconnect cleanly (the broker keeps our session and what we did not acknowledge)."""
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(wire.DISCONNECT_PACKET)
            with contextlib.suppress(OSError):
                await self._writer.drain()
        await self._close()

    async def _close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()
