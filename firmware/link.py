# MQTT 3.1.1 over asyncio for the cabinet: will and birth, QoS 1 with PUBACK, keepalive pings,
# a timeout on every network wait (a frozen broker must not hang the cabinet), the socket always
# closed on the way out. The protocol layer raises; Link traps every network error and reports
# "not connected", so the application never sees one. Brokers picks which broker of a list the
# link tries next, and how long it waits first.

import asyncio
import struct

from cabinet import ticks_diff

CONNECT_REFUSALS = {
    1: "protocol version",
    2: "client id rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorised",
}


class LinkError(Exception):
    pass


def tls_context(ca_path):
    """TLS to the broker with only the fleet's CA trusted and the host name checked (the name
    in the broker URL must be in the server certificate). MicroPython's mbedTLS 3 (ESP32 and
    unix port) implements nothing older than TLS 1.2, so nothing older can be negotiated;
    CPython (the simulator) is held to 1.2 explicitly."""
    import ssl  # noqa: PLC0415 - only a TLS link pays for the module

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # MicroPython documents SSLContext.verify_mode; the ESP32 stubs lack it, hence setattr
    setattr(context, "verify_mode", ssl.CERT_REQUIRED)  # noqa: B010
    if hasattr(context, "minimum_version"):  # CPython
        context.minimum_version = ssl.TLSVersion.TLSv1_2
    with open(ca_path, "rb") as handle:
        context.load_verify_locations(cadata=_der(handle.read()))
    return context


def _der(pem):
    # the CA in DER, which both MicroPython's mbedTLS and CPython take as cadata
    import binascii  # noqa: PLC0415

    if b"-----BEGIN" not in pem:
        return pem
    body = pem.split(b"-----")[2]
    return binascii.a2b_base64(b"".join(body.split()))


def _string(text):
    data = text.encode() if isinstance(text, str) else text
    return struct.pack("!H", len(data)) + data


def _packet(first_byte, body):
    length = len(body)
    header = bytearray([first_byte])
    while True:
        digit = length & 0x7F
        length >>= 7
        header.append(digit | 0x80 if length else digit)
        if not length:
            return bytes(header) + body


def connect_packet(client_id, keepalive_s, username, password, will_topic, will_payload):
    # clean session: the cabinet's own outbox, not the broker, keeps what is unsent
    flags = 0x02 | 0x04 | 0x08 | 0x20  # will, QoS 1, retained
    payload = _string(client_id) + _string(will_topic) + _string(will_payload)
    if username:
        flags |= 0x80
        payload += _string(username)
        if password:
            flags |= 0x40
            payload += _string(password)
    body = _string("MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive_s) + payload
    return _packet(0x10, body)


def publish_packet(topic, payload, qos, retain, packet_id):
    body = _string(topic)
    if qos:
        body += struct.pack("!H", packet_id)
    return _packet(0x30 | (qos << 1) | (1 if retain else 0), body + payload)


def subscribe_packet(topic, packet_id):
    return _packet(0x82, struct.pack("!H", packet_id) + _string(topic) + b"\x01")


def unsubscribe_packet(topic, packet_id):
    return _packet(0xA2, struct.pack("!H", packet_id) + _string(topic))


class Brokers:
    """The brokers (host, port, tls) a cabinet may use, such as a cluster's nodes, tried in
    turn: when an attempt fails or a connection ends, the next one. Only after a whole round
    failed is there a wait, which doubles from `first_ms` up to `cap_ms` and is jittered (a
    random point in its upper half), so a fleet whose node died does not come back at once.
    A connection counts as good only once it held `stable_ms`: one that a broker drops at once
    (a node that accepts, then fails the birth) is a failed attempt, never a tight loop. The
    clock and the random source are injected: `getrandbits(16)` as in the random module."""

    def __init__(
        self, brokers, ticks_ms, getrandbits, first_ms=1000, cap_ms=60000, stable_ms=10000
    ):
        self.brokers = brokers
        self.ticks_ms = ticks_ms
        self.getrandbits = getrandbits
        self.first_ms = first_ms
        self.cap_ms = cap_ms
        self.stable_ms = stable_ms
        self.index = 0
        self.backoff_ms = first_ms
        self.failures = 0  # attempts failed in this round
        self.up_ticks = None  # when the connection in use was made

    def current(self):
        return self.brokers[self.index]

    def failed(self):
        """The attempt on the current broker failed: move on; the milliseconds to wait
        before the next attempt (0 inside a round)."""
        self.index = (self.index + 1) % len(self.brokers)
        self.failures += 1
        if self.failures < len(self.brokers):
            return 0
        self.failures = 0
        half = self.backoff_ms // 2
        self.backoff_ms = min(self.backoff_ms * 2, self.cap_ms)
        return half + self.getrandbits(16) % (half + 1)

    def connected(self):
        self.up_ticks = self.ticks_ms()

    def lost(self):
        """The connection ended: the next broker, at once after a connection that held (the
        backoff starts again), else as after a failed attempt. The wait in milliseconds."""
        up, self.up_ticks = self.up_ticks, None
        if up is None or ticks_diff(self.ticks_ms(), up) < self.stable_ms:
            return self.failed()
        self.index = (self.index + 1) % len(self.brokers)
        self.network_lost()
        return 0

    def network_lost(self):
        """The Wi-Fi went: what failed meanwhile was no broker's fault, so the backoff starts
        again (the broker in turn stays the next one)."""
        self.failures = 0
        self.backoff_ms = self.first_ms
        self.up_ticks = None


class Link:
    def __init__(
        self,
        host,
        port,
        client_id,
        keepalive_s,
        timeout_ms,
        ticks_ms,
        log,
        username="",
        password="",
        on_message=None,
        on_down=None,
        tls=None,
        ack_timeout_ms=None,
    ):
        self.host = host
        self.tls = tls  # an SSLContext from tls_context(), or None for plain MQTT
        self.port = port
        self.client_id = client_id
        self.keepalive_s = keepalive_s
        self.timeout_s = timeout_ms / 1000
        # CONNACK and PUBACK: a NATS node electing a stream leader answers late (docs/ha.md)
        self.ack_timeout_s = (ack_timeout_ms or timeout_ms) / 1000
        self.ticks_ms = ticks_ms
        self.log = log
        self.username = username
        self.password = password
        self.on_message = on_message
        self.on_down = on_down  # called whenever the connection is gone, however it went
        self.connected = False
        self.last_rx_ticks = ticks_ms()
        self._reader = None
        self._writer = None
        self._tasks = []
        self._next_id = 0
        self._waiting = {}  # packet id -> Event set when its PUBACK arrives or the link drops
        self._acked = set()

    def _packet_id(self):
        self._next_id = self._next_id % 65535 + 1
        return self._next_id

    async def connect(self, will_topic, will_payload):
        """True once the broker accepted us; every failure (a refusal, no CONNACK in time, a
        close before it) is logged and returns False."""
        await self.close()
        try:
            if self.tls is None:
                connecting = asyncio.open_connection(self.host, self.port)
            else:
                connecting = asyncio.open_connection(
                    self.host, self.port, ssl=self.tls, server_hostname=self.host
                )
            streams = await asyncio.wait_for(connecting, self.timeout_s)  # type: tuple
            self._reader, self._writer = streams[0], streams[1]
            await self._send(
                connect_packet(
                    self.client_id,
                    self.keepalive_s,
                    self.username,
                    self.password,
                    will_topic,
                    will_payload,
                )
            )
            header = await asyncio.wait_for(streams[0].readexactly(4), self.ack_timeout_s)
            if header[0] != 0x20:
                raise LinkError("expected CONNACK")
            if header[3]:
                raise LinkError(
                    "broker refused: " + CONNECT_REFUSALS.get(header[3], str(header[3]))
                )
        except (OSError, LinkError, asyncio.TimeoutError, EOFError, ValueError) as error:
            # ValueError: CPython's certificate errors are OSError; MicroPython's are too
            self.log("link: connect to %s:%d failed: %r" % (self.host, self.port, error))
            await self.close()
            return False
        self.connected = True
        self.last_rx_ticks = self.ticks_ms()
        self._tasks = [
            asyncio.create_task(self._read_loop()),
            asyncio.create_task(self._ping_loop()),
        ]
        return True

    async def _send(self, data):
        writer = self._writer
        if writer is None:
            raise OSError("not connected")
        writer.write(data)
        await asyncio.wait_for(writer.drain(), self.timeout_s)

    async def publish(self, topic, payload, qos=1, retain=False):
        """True when sent (QoS 0) or acknowledged (QoS 1) in time; False drops the link."""
        if not self.connected:
            return False
        packet_id = self._packet_id() if qos else 0
        done = asyncio.Event()
        if qos:
            self._waiting[packet_id] = done
        try:
            await self._send(publish_packet(topic, payload, qos, retain, packet_id))
            if qos:
                await asyncio.wait_for(done.wait(), self.ack_timeout_s)
        except (OSError, asyncio.TimeoutError) as error:
            self.log("link: publish failed: %r" % (error,))
            await self.close()
            return False
        finally:
            self._waiting.pop(packet_id, None)
        if not qos:
            return True
        if packet_id in self._acked:
            self._acked.discard(packet_id)
            return True
        return False

    async def subscribe(self, topic):
        try:
            await self._send(subscribe_packet(topic, self._packet_id()))
            return True
        except (OSError, asyncio.TimeoutError):
            await self.close()
            return False

    async def unsubscribe(self, topic):
        try:
            await self._send(unsubscribe_packet(topic, self._packet_id()))
            return True
        except (OSError, asyncio.TimeoutError):
            await self.close()
            return False

    async def _read_loop(self):
        # a broker that says nothing for 1.5 keepalives (it must answer our pings) is gone
        silence_s = self.keepalive_s * 1.5
        reader = self._reader
        discarded = False
        try:
            while reader is not None:
                first = (await asyncio.wait_for(reader.readexactly(1), silence_s))[0]
                length = 0
                shift = 0
                while True:
                    digit = (await asyncio.wait_for(reader.readexactly(1), self.timeout_s))[0]
                    length |= (digit & 0x7F) << shift
                    shift += 7
                    if digit < 0x80:
                        break
                    if shift > 21:
                        raise LinkError("bad remaining length")
                body = b""
                if length:
                    body = await asyncio.wait_for(reader.readexactly(length), self.timeout_s)
                self.last_rx_ticks = self.ticks_ms()
                await self._dispatch(first, body)
        except (OSError, LinkError, asyncio.TimeoutError, EOFError, IndexError) as error:
            if self.connected:
                self.log("link: lost the broker: %r" % (error,))
        except GeneratorExit:
            # discarded, never cancelled (CPython finalising a task a closed loop left behind):
            # nothing may be awaited now, so the socket is closed at once
            discarded = True
            writer, self._writer = self._writer, None
            if writer is not None:
                try:
                    writer.close()
                except (OSError, RuntimeError):  # RuntimeError: its loop is already closed
                    pass
            raise
        finally:  # however the reader ends (even cancelled), the link is down
            self.connected = False
            if not discarded:
                await self._close_socket()

    async def _dispatch(self, first, body):
        kind = first >> 4
        if kind == 4:  # PUBACK
            packet_id = struct.unpack("!H", body[:2])[0]
            done = self._waiting.get(packet_id)
            if done is not None:
                self._acked.add(packet_id)
                done.set()
        elif kind == 3:  # PUBLISH: the retained config
            topic_length = struct.unpack("!H", body[:2])[0]
            topic = body[2 : 2 + topic_length].decode()
            qos = (first >> 1) & 3
            start = 2 + topic_length + (2 if qos else 0)
            if qos:
                await self._send(b"\x40\x02" + body[2 + topic_length : start])
            if self.on_message is not None:
                try:
                    self.on_message(topic, body[start:])
                except Exception as error:  # noqa: BLE001 - a bad message must not end the link
                    self.log("link: message on %s not handled: %r" % (topic, error))

    async def _ping_loop(self):
        try:
            while self.connected:
                await asyncio.sleep(self.keepalive_s / 2)
                await self._send(b"\xc0\x00")
        except (OSError, asyncio.TimeoutError):
            self.connected = False
            await self._close_socket()

    async def _close_socket(self):
        # MicroPython's Stream.close() does nothing by itself: wait_closed() closes the socket
        writer, self._writer = self._writer, None
        if writer is not None:
            try:
                writer.close()
                await asyncio.wait_for(writer.wait_closed(), self.timeout_s)
            except (OSError, asyncio.TimeoutError):
                pass
        if self.on_down is not None:
            self.on_down()

    async def close(self, clean=False):
        """Drop the connection; with clean=True say DISCONNECT first (no last will)."""
        if clean and self.connected and self._writer is not None:
            self.connected = False  # the broker's EOF that follows is no loss
            try:
                await self._send(b"\xe0\x00")
            except (OSError, asyncio.TimeoutError):
                pass
        self.connected = False
        for task in self._tasks:
            task.cancel()
        self._tasks = []
        await self._close_socket()
        for done in self._waiting.values():
            done.set()  # wake waiting publishers: no PUBACK, so they report failure
