"""Pure: who hears of an alert transition, and when (quiet hours, per-recipient budget). Which
roles hear of a rule is the rule's own policy (alerts/rules.py), handed in."""

from __future__ import annotations

from collections import deque
from typing import Final

import msgspec

from aedfleet.collector.inventory import Cabinet
from aedfleet.notify.messages import Role, Transition

NOTIFYING_KINDS: Final = ("firing", "repeat", "escalated", "resolved")
HOUR_MS: Final = 3_600_000


class RoutingConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    duty_officers: tuple[str, ...] = ()
    quiet_hours: str = "22:00-07:00"  # local time; only critical alerts get through
    budget_per_hour: int = 10  # non-critical messages per recipient per hour
    utc_offset_minutes: int = 480


class Delivery(msgspec.Struct, frozen=True):
    recipient: str
    not_before_ms: int  # later than now during quiet hours


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


class Router:
    def __init__(self, config: RoutingConfig) -> None:
        self._config = config
        start, _, end = config.quiet_hours.partition("-")
        self._quiet = (_minutes(start), _minutes(end)) if config.quiet_hours else None
        self._sent: dict[str, deque[int]] = {}

    def recipients(
        self, transition: Transition, roles: tuple[Role, ...], cabinet: Cabinet | None
    ) -> list[str]:
        """The phones of the roles its rule routes to (the rule's `routes`)."""
        if transition.kind not in NOTIFYING_KINDS or transition.silenced:
            return []
        phones: list[str] = []
        for role in roles:
            if role == "duty":
                phones += self._config.duty_officers
            elif cabinet is not None:
                phone = cabinet.guardian_phone if role == "guardian" else cabinet.technician_phone
                phones += [phone] if phone else []
        return list(dict.fromkeys(phones))  # once each, in order

    def quiet_until(self, now_ms: int) -> int | None:
        """End of the quiet hours, when `now_ms` falls in them."""
        if self._quiet is None:
            return None
        start, end = self._quiet
        local_ms = now_ms + self._config.utc_offset_minutes * 60_000
        minute = (local_ms // 60_000) % 1440
        inside = start <= minute < end if start < end else minute >= start or minute < end
        if not inside:
            return None
        wait = (end - minute) % 1440
        return now_ms + wait * 60_000 - local_ms % 60_000

    def deliveries(
        self,
        transition: Transition,
        roles: tuple[Role, ...],
        cabinet: Cabinet | None,
        now_ms: int,
    ) -> tuple[list[Delivery], list[str]]:
        """(who gets it and from when, who is over budget and does not)."""
        critical = transition.severity == "critical"
        not_before = now_ms if critical else (self.quiet_until(now_ms) or now_ms)
        deliveries, over_budget = [], []
        for phone in self.recipients(transition, roles, cabinet):
            if not critical and not self._spend(phone, now_ms):
                over_budget.append(phone)
                continue
            deliveries.append(Delivery(phone, not_before))
        return deliveries, over_budget

    def _spend(self, phone: str, now_ms: int) -> bool:
        sent = self._sent.setdefault(phone, deque())
        while sent and now_ms - sent[0] >= HOUR_MS:
            sent.popleft()
        if len(sent) >= self._config.budget_per_hour:
            return False
        sent.append(now_ms)
        return True
