"""The MQTT reader's hot path alone, in this process: CPU per message of `Decoder.feed` over a
broker's byte stream read in 64 KiB chunks, against the plain loop it replaced (concatenate the
leftover with each chunk, `parse`, slice), in the same run. Also one oversize message: that loop
copied the whole buffer on every read (quadratic); the decoder discards the excess unbuffered.

Run: .venv/bin/python -m bench.mqtt_reader [--messages 100000]
"""

from __future__ import annotations

import argparse
import struct
import time
from collections.abc import Callable

from aedfleet.collector import mqttwire as wire

CHUNK = 65_536


def publish(topic: str, payload: bytes, packet_id: int) -> bytes:
    """A QoS 1 PUBLISH as a broker sends it (MQTT 3.1.1 §3.3)."""
    body = struct.pack("!H", len(topic)) + topic.encode() + struct.pack("!H", packet_id) + payload
    length, encoded = len(body), bytearray()
    while True:
        length, digit = divmod(length, 128)
        encoded.append(digit | (0x80 if length else 0))
        if not length:
            return b"\x32" + bytes(encoded) + body


def chunks(stream: bytes) -> list[bytes]:
    return [stream[i : i + CHUNK] for i in range(0, len(stream), CHUNK)]


def concatenating_loop(parts: list[bytes]) -> int:
    """What the reader did before: the leftover plus each chunk, parsed, then sliced."""
    buffer = b""
    count = 0
    for chunk in parts:
        buffer = buffer + chunk if buffer else chunk
        packets, used = wire.parse(buffer)
        buffer = buffer[used:]
        count += len(packets)
    return count


def decoder_loop(parts: list[bytes]) -> int:
    decoder = wire.Decoder()
    count = 0
    for chunk in parts:
        count += len(decoder.feed(chunk))
    return count


def best_cpu_s(
    contenders: list[Callable[[list[bytes]], int]], parts: list[bytes], expected: int, rounds: int
) -> list[float]:
    """The least CPU time of each contender over `rounds`, taken in turns: the machine's other
    load falls on both alike."""
    best = [float("inf")] * len(contenders)
    for _ in range(rounds):
        for index, run in enumerate(contenders):
            started = time.process_time()
            if run(parts) != expected:
                raise AssertionError(f"{run.__name__} decoded a wrong number of packets")
            best[index] = min(best[index], time.process_time() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    n = parser.parse_args().messages
    payload = b'{"v":1,"id":"test-00042","seq":1,"ts":1795820400000,"sync":true,' + b"x" * 180
    stream = b"".join(
        publish(f"aed/v1/test-{i % 10_000:05d}/telemetry", payload, i % 65_535 + 1)
        for i in range(n)
    )
    parts = chunks(stream)
    before, after = best_cpu_s([concatenating_loop, decoder_loop], parts, n, rounds=15)
    print(f"{n} PUBLISH packets of {len(stream) // n} bytes, read in 64 KiB chunks")
    print(f"  concatenating loop (before)  {before / n * 1e6:6.2f} us/msg")
    print(f"  Decoder.feed (after)         {after / n * 1e6:6.2f} us/msg")
    print(f"after / before                 {after / before:6.2f}  (target <= 1.10)")
    big = chunks(publish("aed/v1/test-00001/event", b"x" * 16_000_000, 1))
    slow, fast = best_cpu_s([concatenating_loop, decoder_loop], big, 1, rounds=3)
    print("one 16 MB PUBLISH in 64 KiB chunks")
    print(f"  concatenating loop (before)  {slow * 1e3:8.1f} ms CPU")
    print(f"  Decoder.feed (after)         {fast * 1e3:8.1f} ms CPU (cut to 128 KiB)")


if __name__ == "__main__":
    main()
