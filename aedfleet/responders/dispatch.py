"""The collector's side of responder dispatch: the roster and its index held in memory, who
was texted when (rest time and budget), and the notifications of a dispatch and of its
stand-down. What it writes to InfluxDB and the log is counts and distances, never who."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Final

import msgspec

from aedfleet.collector import lineprotocol as lp
from aedfleet.collector.inventory import Cabinet
from aedfleet.notify.messages import Notification, Transition
from aedfleet.responders import text
from aedfleet.responders.roster import load_roster
from aedfleet.responders.select import DAY_MS, Limits, ResponderIndex

RULE: Final = "responders"  # the `rule` of their notifications in the outbox and InfluxDB
EMERGENCY_RULE: Final = "opened"  # door opened or AED removed outside maintenance


class Dispatch(msgspec.Struct, frozen=True):
    notifications: list[Notification]
    distances_m: list[float]  # nearest first
    in_radius: int  # everyone within the radius, eligible or not


class Responders:
    def __init__(self, index: ResponderIndex, limits: Limits) -> None:
        self._index = index
        self.limits = limits
        self._texted: dict[str, list[int]] = defaultdict(list)
        self._dispatched: dict[tuple[str, int], list[int]] = {}  # alert -> roster indices
        # the latest dispatch, as the demo's view shows it: cabinet, how many, nearest metres
        self.last: tuple[str, int, float | None] | None = None

    @classmethod
    def load(cls, path: Path, limits: Limits) -> Responders:
        return cls(ResponderIndex(load_roster(path)), limits)

    def dispatch(self, transition: Transition, cabinet: Cabinet, now_ms: int) -> Dispatch:
        """The responders' notifications for an emergency transition (the first firing of an
        `opened` alert), recorded against their rest time and budget."""
        within = self._index.within(cabinet.lat, cabinet.lon, self.limits.radius_m)
        picks = self._index.select(cabinet.lat, cabinet.lon, self._texted, now_ms, self.limits)
        notifications = []
        for rank, pick in enumerate(picks):
            responder = self._index.responders[pick.index]
            self._remember(responder.id, now_ms)
            notifications.append(
                Notification(
                    f"{transition.key}:{RULE}:{rank}",
                    responder.phone,
                    text.call_out(cabinet, responder.language),
                    cabinet.id,
                    RULE,
                    "dispatch",
                    "critical",
                )
            )
        self._dispatched[(cabinet.id, transition.since_ms)] = [pick.index for pick in picks]
        self.last = (cabinet.id, len(picks), picks[0].distance_m if picks else None)
        return Dispatch(notifications, [pick.distance_m for pick in picks], len(within))

    def stand_down(self, cabinet: Cabinet, since_ms: int) -> list[Notification]:
        """A short stand-down to each responder texted for this alert; once."""
        indices = self._dispatched.pop((cabinet.id, since_ms), [])
        return [
            Notification(
                f"{cabinet.id}:{EMERGENCY_RULE}:{since_ms}:stand_down:{rank}",
                responder.phone,
                text.stand_down(cabinet, responder.language),
                cabinet.id,
                RULE,
                "stand_down",
                "high",
            )
            for rank, responder in enumerate(self._index.responders[i] for i in indices)
        ]

    def _remember(self, responder_id: str, now_ms: int) -> None:
        texted = self._texted[responder_id]
        texted[:] = [at for at in texted if now_ms - at < DAY_MS] + [now_ms]


def dispatch_line(tags: str, kind: str, dispatch: Dispatch | None, count: int, at_ms: int) -> str:
    """The record of a dispatch or a stand-down: counts and distances only."""
    distances = dispatch.distances_m if dispatch is not None else []
    in_radius = dispatch.in_radius if dispatch is not None else 0
    nearest = f",nearest_m={distances[0]:.1f},farthest_m={distances[-1]:.1f}" if distances else ""
    listed = ",".join(f"{d:.0f}" for d in distances)
    return (f"responder_dispatch{tags},kind={lp.tag(kind)} alerted={count}i,"
            f"in_radius={in_radius}i,distances_m={lp.string(listed)}{nearest} {at_ms}")  # fmt: skip
