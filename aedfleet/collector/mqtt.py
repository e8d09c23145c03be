"""The MQTT source: an asyncio QoS 1 subscriber with a persistent session and acknowledgement
only after the service says a message is durable.

Why not aiomqtt or paho here: aiomqtt acknowledges QoS 1 on receipt (a crash loses what sits in
its queue), and paho's receive path alone costs about 37 µs of CPU per message on this machine
(three socket reads per packet), more than the collector's whole budget. This source reads the
socket in 64 KiB chunks, decodes every whole packet in one pass (mqttwire.py) and sends the
PUBACKs of a stored batch in one write (the caller acknowledges batches in the order their
messages came: MQTT 3.1.1 §4.6). Acknowledgement tokens carry the connection generation:
after a reconnect the broker resends whatever was not acknowledged, so a token from an older
connection is never sent.

A source may know several brokers (the nodes of a cluster: docs/ha.md). It stays on one while
it can; when a connection ends it moves to the next, retrying a whole round with capped
backoff. A node in the middle of a leader election may close before CONNACK or answer a
SUBSCRIBE with 0x80: both end the connection and the next node is tried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Final, NamedTuple
from urllib.parse import urlsplit

import msgspec

from aedfleet.collector import mqttwire as wire
from aedfleet.collector.lineprotocol import printable

log = logging.getLogger(__name__)

READ_CHUNK: Final = 65_536
MIN_BACKOFF_S: Final = 0.5
MAX_BACKOFF_S: Final = 30.0
REFUSALS: Final = ("refused", "subscription_refused")
FORESEEN: Final = ("closed", "timeout", "protocol_error", "network", *REFUSALS)


class AckToken(msgspec.Struct, frozen=True, gc=False):
    """What acknowledges one message once it is durable. gc=False: scalars only, and tens of
    thousands wait in a full batch, so the cyclic GC need not track them."""

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


class SubscriptionRefusedError(Exception):
    """The broker refused a subscription, or granted it only at QoS 0 (no durability)."""


async def _no_wait() -> None:
    return None


def _reason(error: Exception) -> str:
    """A short, countable name for why a connection ended."""
    if isinstance(error, asyncio.IncompleteReadError | ConnectionError):
        return "closed"
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, BrokerRefusedError):
        return "refused"
    if isinstance(error, SubscriptionRefusedError):
        return "subscription_refused"
    if isinstance(error, wire.ProtocolError):
        return "protocol_error"
    if isinstance(error, OSError):
        return "network"
    return type(error).__name__


class MqttSource:
    """Connects, subscribes on every connect, and hands each PUBLISH to `handler`.

    `room` is awaited between reads: while it waits nothing is read, TCP fills up and the
    broker holds the rest (backpressure). The broker is judged silent only while we read:
    a pause for backpressure is not the broker's silence.
    """

    def __init__(
        self,
        *,
        name: str,
        urls: Sequence[str],
        client_id: str,
        subscriptions: list[str],
        handler: MessageHandler,
        room: Callable[[], Awaitable[None]] = _no_wait,
        username: str = "",
        password: str = "",
        ca_file: str = "",
        keepalive_s: int = 30,
        connect_timeout_s: float = 10.0,
        max_packet_bytes: int = wire.MAX_PACKET_BYTES,
        min_backoff_s: float = MIN_BACKOFF_S,
    ) -> None:
        self.name = name
        if not urls:
            raise ValueError("a broker source needs at least one broker URL")
        self.brokers = [parse_broker_url(url) for url in urls]
        self.address = self.brokers[0]  # the broker in use, or the next one tried
        self._client_id = client_id
        self._subscriptions = subscriptions
        self._handler = handler
        self._room = room
        self._username = username
        self._password = password
        self._keepalive_s = keepalive_s
        self._connect_timeout_s = connect_timeout_s
        self._max_packet_bytes = max_packet_bytes
        self._min_backoff_s = min_backoff_s
        self._ssl: ssl.SSLContext | None = None
        if any(address.tls for address in self.brokers):
            self._ssl = ssl.create_default_context(cafile=ca_file or None)
        self._writer: asyncio.StreamWriter | None = None
        self._generation = 0
        self._last_rx = 0.0
        self._paused = False
        self._decoder = wire.Decoder(max_packet_bytes)
        self.reconnects = 0
        self.failures: Counter[str] = Counter()  # connections that ended, by reason
        self.sessions_lost = 0  # the broker had no session where one was expected
        self.subscriptions_refused = 0
        self.oversize = 0  # packets over max_packet_bytes, cut and rejected
        self.connected = asyncio.Event()  # the broker accepted the connection (CONNACK)
        self.subscribed = asyncio.Event()  # and granted every subscription at QoS 1 (SUBACK)

    async def run(self) -> None:
        """Stay connected until cancelled, reconnecting with capped backoff and jitter. Any
        end of a connection, whatever raised it, is logged, counted and retried on the next
        broker of the list; the backoff grows only when a whole round has failed."""
        backoff_s = self._min_backoff_s
        failed = 0  # connections that ended since the last one that got its SUBACK
        index = 0
        while True:
            self.address = self.brokers[index]
            try:
                await self._session(self.address)
            except Exception as error:  # a reader must never end for good
                reason = _reason(error)
                self.failures[reason] += 1
                # a refusal is a configuration fault an operator must fix, anything unforeseen
                # a bug (with its traceback); the rest are the network's and pass
                foreseen = reason in FORESEEN
                level = logging.ERROR if reason in REFUSALS or not foreseen else logging.WARNING
                if self.subscribed.is_set():  # it had worked: a fresh round, a fresh backoff
                    failed, backoff_s = 0, self._min_backoff_s
                index = (index + 1) % len(self.brokers)
                log.log(
                    level, "%s broker connection to %s:%s: %s: %s; trying %s:%s in %.1f s",
                    self.name, self.address.host, self.address.port, reason,
                    printable(str(error).encode(), 200), self.brokers[index].host,
                    self.brokers[index].port, backoff_s, exc_info=not foreseen,
                )  # fmt: skip
            finally:
                self.connected.clear()
                self.subscribed.clear()
                await self._close()
            await asyncio.sleep(backoff_s * random.uniform(0.8, 1.2))
            failed += 1
            if failed % len(self.brokers) == 0:
                backoff_s = min(MAX_BACKOFF_S, backoff_s * 2)

    async def _session(self, address: BrokerAddress) -> None:
        host, port, tls = address
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                host, port, ssl=self._ssl if tls else None, limit=4 * READ_CHUNK
            ),
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
        body = await asyncio.wait_for(self._connack(reader), self._connect_timeout_s)
        refusal = wire.connack_error(body)
        if refusal is not None:
            raise BrokerRefusedError(f"broker refused the connection: {refusal}")
        if self._generation and not wire.session_present(body):
            # a broker restarted without persistence, or a session expired: what it had
            # queued for us while we were away is gone
            self.sessions_lost += 1
            log.error("%s: the broker kept no session for %s; messages queued for the "
                      "collector may have been lost", self.name, self._client_id)  # fmt: skip
        self._generation += 1
        if self._generation > 1:
            self.reconnects += 1
        # Mosquitto 2.0.11 can forget durable subscriptions across a restart: subscribe always
        writer.write(wire.subscribe(1, [(topic, 1) for topic in self._subscriptions]))
        log.info("%s: connected to %s:%s", self.name, host, port)
        self.connected.set()
        self._last_rx = asyncio.get_running_loop().time()
        self._decoder = wire.Decoder(self._max_packet_bytes)
        pinger = asyncio.create_task(self._ping(writer))
        try:
            await self._read(reader, writer)
        finally:
            pinger.cancel()

    async def _connack(self, reader: asyncio.StreamReader) -> bytes:
        first, length = await reader.readexactly(2)
        if first != 0x20 or length != 2:
            raise wire.ProtocolError(f"expected CONNACK, got {bytes([first, length]).hex()}")
        return await reader.readexactly(2)

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = self._decoder
        handler = self._handler
        generation = self._generation
        name = self.name
        loop = asyncio.get_running_loop()
        while True:
            self._paused = True
            await self._room()
            self._paused = False
            chunk = await reader.read(READ_CHUNK)
            if not chunk:
                raise ConnectionError("broker closed the connection")
            self._last_rx = loop.time()
            for packet in decoder.feed(chunk):
                if type(packet) is wire.Publish:
                    handler(packet.topic, packet.payload,
                            AckToken(name, generation, packet.packet_id, packet.qos))  # fmt: skip
                elif type(packet) is wire.Control:
                    self._control(packet, writer)
            if decoder.oversize:
                self.oversize += decoder.oversize
                decoder.oversize = 0
                log.warning("%s: a PUBLISH of %d bytes is over the %d-byte limit: cut, rejected"
                            " and acknowledged", name, decoder.last_oversize_bytes,
                            self._max_packet_bytes)  # fmt: skip

    def _control(self, packet: wire.Control, writer: asyncio.StreamWriter) -> None:
        if packet.kind == wire.SUBACK:
            _packet_id, codes = wire.suback_codes(packet.body)
            granted = dict(zip(self._subscriptions, codes, strict=False))
            refused = [t for t, code in granted.items() if code not in (1, 2)]
            if refused or len(codes) != len(self._subscriptions):
                self.subscriptions_refused += 1
                raise SubscriptionRefusedError(
                    f"broker did not grant QoS 1 (ACL?): {granted}; reconnecting"
                )
            self.subscribed.set()
        elif packet.kind == wire.PUBREL:
            # QoS 2, second half: the message was released; its PUBREC went out once durable
            writer.write(wire.pubcomp(int.from_bytes(packet.body[:2], "big")))
        elif packet.kind == wire.CONNACK:
            raise wire.ProtocolError("a second CONNACK")

    async def _ping(self, writer: asyncio.StreamWriter) -> None:
        # a broker that says nothing for 1.5 keepalives (it answers our pings) is gone or
        # frozen: closing the socket ends the read loop, and run() reconnects. While reading
        # is paused for backpressure nothing is heard by design, so that time does not count.
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._keepalive_s / 2)
            if self._paused:
                self._last_rx = loop.time()
            elif loop.time() - self._last_rx > self._keepalive_s * 1.5:
                log.warning("%s: broker silent for %.0f s; reconnecting", self.name,
                            loop.time() - self._last_rx)  # fmt: skip
                writer.close()
                return
            writer.write(wire.PINGREQ_PACKET)

    def ack(self, tokens: Iterable[AckToken]) -> None:
        """Acknowledge messages now durable; tokens of another connection, or of an older one
        of this, are skipped."""
        writer = self._writer
        if writer is None or writer.is_closing():
            return
        generation, name, heads = self._generation, self.name, wire.ACK_HEADS
        words = [
            heads[token.qos] | token.packet_id
            for token in tokens
            if token.generation == generation and token.source == name and token.qos
        ]
        if words:
            writer.write(wire.acknowledgements(words))

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
