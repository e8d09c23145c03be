"""A local SNTP server (RFC 4330 §5, server mode) answering with this host's clock plus a
chosen offset, for `aedfleet doctor`'s clock check."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

NTP_EPOCH_OFFSET = 2_208_988_800


def _stamp(epoch_s: float) -> bytes:
    seconds = int(epoch_s) + NTP_EPOCH_OFFSET
    return struct.pack("!II", seconds, int((epoch_s % 1) * 2**32))


@contextmanager
def sntp_server(offset_s: float = 0.0) -> Iterator[str]:
    """Yields "127.0.0.1:PORT"."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                request, peer = sock.recvfrom(512)
            except TimeoutError:
                continue
            received = _stamp(time.time() + offset_s)
            # LI 0, version 4, mode 4 (server); stratum 2; the client's transmit time as origin
            header = bytes([0x24, 2, 6, 0xEC]) + b"\x00" * 8 + b"LOCL"
            answer = header + received + request[40:48] + received + _stamp(time.time() + offset_s)
            sock.sendto(answer, peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        sock.close()
