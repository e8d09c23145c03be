"""Issue 14, item 4, the broker's side: its packet limit admits every message of the protocol
and the simulator's oversized one (which the collector must see to dead-letter), nothing much
larger."""

from __future__ import annotations

from aedfleet.broker.config import max_packet_bytes
from aedfleet.collector.protocol import MAX_PAYLOAD_BYTES
from aedfleet.collector.topics import topic_for
from aedfleet.simulator.hostile import hostile_message


def publish_size(topic: str, payload: bytes) -> int:
    body = 2 + len(topic.encode()) + 2 + len(payload)  # topic, packet id, payload (QoS 1)
    length_bytes = 1 if body < 128 else 2 if body < 16_384 else 3  # MQTT 3.1.1 section 2.2.3
    return 1 + length_bytes + body


def test_the_limit_admits_the_largest_message_and_the_simulators_oversized_one() -> None:
    longest = topic_for("a" * 32, "telemetry")
    assert publish_size(longest, b"x" * MAX_PAYLOAD_BYTES) <= max_packet_bytes()
    topic, payload = hostile_message("oversized", "aed", "bz-zh-018", "bz-zh-019", 1)
    assert len(payload) > MAX_PAYLOAD_BYTES
    assert publish_size(topic, payload) <= max_packet_bytes() < 2 * MAX_PAYLOAD_BYTES
