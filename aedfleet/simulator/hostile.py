"""The messages a compromised or buggy cabinet might publish, for the hostile-messages
scenario. Built from the firmware's own message builder, then broken on purpose."""

from __future__ import annotations

from typing import Final

from aedfleet.simulator.firmware import report
from aedfleet.simulator.scenario import Hostile

TWO_DAYS_MS: Final = 2 * 86_400_000
# past the collector's 1,024-byte limit, yet within the broker's max_packet_size (a larger
# packet never reaches the collector: the broker disconnects its sender)
OVERSIZE_PAD: Final = 1000


def hostile_message(
    kind: Hostile, prefix: str, cabinet_id: str, victim_id: str, ts_ms: int
) -> tuple[str, bytes]:
    """(topic, payload) of one hostile message published with `cabinet_id`'s credentials."""

    def door_open_by(sender: str, ts: int) -> tuple[str, bytes]:
        message: tuple[str, bytes] = report.event(prefix, sender, "door_open", {}, 0, ts, True)
        return message

    topic, door_open = door_open_by(cabinet_id, ts_ms)
    if kind == "malformed":
        return topic, door_open[:-9]
    if kind == "oversized":
        return topic, door_open[:-1] + b',"pad":"' + b"x" * OVERSIZE_PAD + b'"}'
    if kind == "not_utf8":
        return topic, door_open.replace(b"door_open", b"door_\xffopen")
    if kind == "spoofed_id":
        return topic, door_open_by(victim_id, ts_ms)[1]
    if kind == "unknown_event":
        return topic, door_open.replace(b'"door_open"', b'"self_destruct"')
    if kind == "future_ts":
        return door_open_by(cabinet_id, ts_ms + TWO_DAYS_MS)
    # spoofed_topic: a forged opening on the neighbour's own topic, which the ACL refuses
    return door_open_by(victim_id, ts_ms)
