"""A scripted MQTT 3.1.1 broker: a small asyncio server speaking real bytes, for driving the
collector's reader through what a broker may do (MQTT Version 3.1.1, OASIS Standard, 2014).

Each accepted connection runs the next script in turn (the last one repeats). A script is an
async function given a `Connection`: it reads what the client sent, answers, misbehaves or
closes. Everything the client sent is recorded. The packets are written here from the
standard, independently of aedfleet/collector/mqttwire.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 12, 13, 14


def remaining_length(length: int) -> bytes:
    """§2.2.3: seven bits a byte, least significant first, the top bit saying "more"."""
    out = bytearray()
    while True:
        length, digit = divmod(length, 128)
        out.append(digit | (0x80 if length else 0))
        if not length:
            return bytes(out)


def packet(first_byte: int, body: bytes) -> bytes:
    return bytes([first_byte]) + remaining_length(len(body)) + body


def publish(topic: str, payload: bytes, *, qos: int = 1, packet_id: int = 1, dup: bool = False,
            retain: bool = False) -> bytes:  # fmt: skip
    """§3.3: topic, packet id (QoS 1 and 2 only), payload."""
    name = topic.encode()
    body = struct.pack("!H", len(name)) + name
    if qos:
        body += struct.pack("!H", packet_id)
    first = 0x30 | (0x08 if dup else 0) | qos << 1 | (1 if retain else 0)
    return packet(first, body + payload)


def publish_of_length(topic: str, remaining: int, packet_id: int = 1) -> bytes:
    """A QoS 1 PUBLISH whose remaining length is exactly `remaining`."""
    payload_size = remaining - 2 - len(topic.encode()) - 2
    return publish(topic, b"p" * payload_size, packet_id=packet_id)


def connack(code: int = 0, *, session_present: bool = False) -> bytes:
    return bytes([0x20, 2, int(session_present), code])  # §3.2


def suback(packet_id: int, codes: list[int]) -> bytes:
    return packet(0x90, struct.pack("!H", packet_id) + bytes(codes))  # §3.9


PINGRESP_PACKET = b"\xd0\x00"


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.received: list[tuple[int, bytes]] = []  # (first byte, variable header + payload)
        self.closed = asyncio.Event()

    async def packet(self) -> tuple[int, bytes]:
        """The next packet from the client (EOFError when it closed)."""
        first = (await self.reader.readexactly(1))[0]
        length, shift = 0, 0
        while True:
            digit = (await self.reader.readexactly(1))[0]
            length |= (digit & 0x7F) << shift
            shift += 7
            if digit < 0x80:
                break
        body = await self.reader.readexactly(length)
        self.received.append((first, body))
        return first, body

    async def expect(self, kind: int) -> bytes:
        """The next packet that is not a PINGREQ; it must be of `kind`."""
        while True:
            first, body = await self.packet()
            if first >> 4 == PINGREQ:
                self.send(PINGRESP_PACKET)
                continue
            if first >> 4 != kind:
                raise AssertionError(f"expected packet type {kind}, got {first >> 4}")
            return body

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def drain(self) -> None:
        await self.writer.drain()

    async def handshake(self, *, session_present: bool = False, granted: int = 1) -> bytes:
        """Accept CONNECT and SUBSCRIBE; returns the CONNECT body."""
        connect = await self.expect(CONNECT)
        self.send(connack(session_present=session_present))
        await self.grant(granted)
        return connect

    async def grant(self, granted: int = 1) -> None:
        """Answer the next SUBSCRIBE with `granted` for each of its filters."""
        subscribe = await self.expect(SUBSCRIBE)
        packet_id = struct.unpack("!H", subscribe[:2])[0]
        self.send(suback(packet_id, [granted] * count_filters(subscribe[2:])))
        await self.drain()

    async def serve(self) -> None:
        """Answer pings and record everything until the client closes."""
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                first, _body = await self.packet()
                if first >> 4 == PINGREQ:
                    self.send(PINGRESP_PACKET)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()

    def acks(self, kind: int = PUBACK) -> list[int]:
        return [struct.unpack("!H", body[:2])[0] for first, body in self.received
                if first >> 4 == kind]  # fmt: skip


def count_filters(payload: bytes) -> int:
    count, position = 0, 0
    while position < len(payload):
        (size,) = struct.unpack("!H", payload[position : position + 2])
        position += 2 + size + 1
        count += 1
    return count


Script = Callable[[Connection], Awaitable[None]]


async def hold(conn: Connection) -> None:
    """A well-behaved broker with nothing to say: handshake, then pings answered."""
    await conn.handshake(session_present=True)
    await conn.serve()


class FakeBroker:
    def __init__(self, *scripts: Script) -> None:
        self._scripts = scripts or (hold,)
        self.connections: list[Connection] = []
        self._changed = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection(reader, writer)
        script = self._scripts[min(len(self.connections), len(self._scripts) - 1)]
        async with self._changed:
            self.connections.append(conn)
            self._changed.notify_all()
        try:
            with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
                await script(conn)
        finally:
            await conn.close()
            conn.closed.set()

    async def connections_made(self, count: int, timeout_s: float = 20.0) -> list[Connection]:
        """Wait (up to a generous deadline) until `count` clients have connected."""
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(lambda: len(self.connections) >= count)
        return self.connections

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[FakeBroker]:
        def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.create_task(self._accept(reader, writer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        self._server = await asyncio.start_server(accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()


async def until(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    """Await `condition` up to a generous deadline (a condition, never a timed assertion)."""
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.005)
