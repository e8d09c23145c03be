"""Pure alert lifecycle: firing → acknowledged → resolved, per (cabinet, rule).

Deduplicated (one alert per cabinet and rule), held before firing and before resolving so a
noisy input cannot flap, critical alerts repeated until acknowledged, escalated when a warning
moves a step, inhibited while the cabinet is offline, and held back fleet-wide while the
collector itself has no broker. Everything that changes comes out as a Transition; the shell
stores, writes and notifies them. Time is always passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

import msgspec

from aedfleet.alerts.rules import RULES, Finding, Rule
from aedfleet.alerts.settings import Settings
from aedfleet.alerts.state import CabinetState, first_sighting, fold, fold_telemetry
from aedfleet.collector import protocol as p
from aedfleet.notify.messages import Severity, Transition, TransitionKind

AlertState = Literal["pending", "firing", "acknowledged", "resolved"]
OPEN_STATES: Final = ("firing", "acknowledged")  # an alert in these is open: not yet resolved
# and after a transition of one of these kinds (the `open` field of its InfluxDB point)
OPEN_KINDS: Final = ("firing", "repeat", "escalated", "acknowledged")


class Alert(msgspec.Struct, gc=False):
    cabinet_id: str
    rule: str
    state: AlertState
    severity: Severity
    summary: str
    since_ms: int  # when the condition began: the alert's identity with cabinet and rule
    changed_ms: int
    last_notified_ms: int = 0
    repeats: int = 0
    stage: int = 0
    clear_since_ms: int = 0  # when the condition went away (resolve hold)
    acked_by: str = ""


class Silence(msgspec.Struct, frozen=True):
    cabinet_id: str
    rule: str  # "" for every rule
    until_ms: int
    reason: str = ""
    id: str = ""
    by: str = ""  # the name of the token that set it
    created_ms: int = 0


class AlertEngine:
    def __init__(
        self,
        settings: Settings,
        overrides: dict[str, Settings] | None = None,
        *,
        broker_grace_ms: int | None = None,
    ) -> None:
        self.settings = settings
        self.overrides = overrides or {}
        self.cabinets: dict[str, CabinetState] = {}
        self.alerts: dict[tuple[str, str], Alert] = {}
        self.silences: list[Silence] = []
        self.dirty: set[str] = set()
        self.redeliveries = 0  # messages recognised as already folded, and ignored
        self._open: dict[str, set[str]] = {}  # cabinet -> rules with an unresolved alert
        # after the collector regains the broker, wait before calling anyone silent
        heartbeat_window = settings.heartbeat_s * settings.missed_heartbeats * 1000
        self._broker_grace_ms = heartbeat_window if broker_grace_ms is None else broker_grace_ms
        self._broker_since_ms: int | None = None
        # the rules that mean offline are judged first: whether a cabinet is offline decides
        # whether the others may fire (a stable sort: the catalogue's order otherwise)
        self._rules = sorted(RULES.items(), key=lambda item: not item[1].means_offline)
        self._nearness = tuple(r.near_limit for r in RULES.values() if r.near_limit is not None)

    def settings_for(self, cabinet_id: str) -> Settings:
        return self.overrides.get(cabinet_id, self.settings)

    def cabinet(self, cabinet_id: str) -> CabinetState:
        state = self.cabinets.get(cabinet_id)
        if state is None:
            state = self.cabinets[cabinet_id] = CabinetState(cabinet_id)
        return state

    # --- inputs ----------------------------------------------------------------------------

    def on_message(self, message: p.DeviceMessage, at_ms: int) -> list[Transition]:
        """Fold a validated message in. Events are judged at once (a door opening must not
        wait); telemetry only marks the cabinet for the next tick. A message already folded
        (a redelivery) changes nothing."""
        state = self.cabinet(message.id)
        if not first_sighting(state, message):
            self.redeliveries += 1
            return []
        if type(message) is p.Telemetry:
            # a fact the rules watch changed, an alert is open, or a reading is near a limit
            if (fold_telemetry(state, message, at_ms) or message.id in self._open
                    or self._near_a_limit(state)):  # fmt: skip
                self.dirty.add(message.id)
            return []
        audit = fold(state, message, at_ms)
        self.dirty.add(message.id)
        transitions = [
            Transition(message.id, "audit", "info", "info", fact, at_ms, at_ms) for fact in audit
        ]
        return transitions + self._evaluate(state, at_ms)

    def _near_a_limit(self, state: CabinetState) -> bool:
        settings = self.settings_for(state.cabinet_id)
        for near in self._nearness:  # noqa: SIM110 - a plain loop: every telemetry message
            if near(state, settings):
                return True
        return False

    def broker_connected(self, connected: bool, now_ms: int) -> None:
        if not connected:
            self._broker_since_ms = None
        elif self._broker_since_ms is None:
            self._broker_since_ms = now_ms

    def tick(self, now_ms: int, cabinet_ids: Iterable[str] | None = None) -> list[Transition]:
        """Time passes: evaluate the given cabinets (all of them by default: timers, silence,
        expiry) and repeat what is due."""
        transitions: list[Transition] = []
        states = (
            self.cabinets.values()
            if cabinet_ids is None
            else [self.cabinets[c] for c in cabinet_ids if c in self.cabinets]
        )
        for state in states:
            transitions += self._evaluate(state, now_ms)
        transitions += self._repeats(now_ms)
        self.silences = [s for s in self.silences if s.until_ms > now_ms]
        return transitions

    def acknowledge(self, cabinet_id: str, rule: str, now_ms: int, by: str) -> Transition | None:
        alert = self.alerts.get((cabinet_id, rule))
        if alert is None or alert.state != "firing":
            return None
        alert.state = "acknowledged"
        alert.acked_by = by
        alert.changed_ms = now_ms
        return self._transition(alert, "acknowledged", now_ms)

    def restore(self, alert: Alert) -> None:
        """An alert from before a restart."""
        self.alerts[(alert.cabinet_id, alert.rule)] = alert
        if alert.state != "resolved":
            self._open.setdefault(alert.cabinet_id, set()).add(alert.rule)

    def silence(self, silence: Silence) -> None:
        self.silences.append(silence)

    # --- the lifecycle ---------------------------------------------------------------------

    def _broker_trusted(self, now_ms: int) -> bool:
        since = self._broker_since_ms
        return since is not None and now_ms - since >= self._broker_grace_ms

    def _evaluate(self, state: CabinetState, now_ms: int) -> list[Transition]:
        settings = self.settings_for(state.cabinet_id)
        if state.cabinet_id not in self._open and all(
            rule.judge(state, settings, now_ms, False) is None for _name, rule in self._rules
        ):
            # no alert open or pending, and no condition holds: nothing can change (nearly
            # every cabinet on a sweep, so the lifecycle below is not walked for each rule)
            return []
        transitions: list[Transition] = []
        is_offline = False
        for name, rule in self._rules:
            key = (state.cabinet_id, name)
            alert = self.alerts.get(key)
            active = alert is not None and alert.state in OPEN_STATES
            # hysteresis holds from the first sighting, so a hovering value still fires once
            held = active or (alert is not None and alert.state == "pending")
            finding = rule.judge(state, settings, now_ms, held)
            if finding is not None and not active:
                if rule.means_offline and not self._broker_trusted(now_ms):
                    # without the broker (and for a heartbeat window after), neither silence
                    # nor a last will says anything of the cabinet: a stopping broker sends
                    # every will
                    finding = None
                elif is_offline and rule.inhibited_while_offline:
                    finding = None  # an offline cabinet raises nothing else
            transitions += self._advance(key, rule, settings, alert, finding, now_ms)
            if rule.means_offline and not is_offline:
                now_alert = self.alerts.get(key)
                is_offline = now_alert is not None and now_alert.state in OPEN_STATES
        return transitions

    def _advance(
        self,
        key: tuple[str, str],
        rule: Rule,
        settings: Settings,
        alert: Alert | None,
        finding: Finding | None,
        now_ms: int,
    ) -> list[Transition]:
        cabinet_id, name = key
        if finding is None:
            if alert is None:
                return []
            return self._clear(alert, rule.resolve_after_ms(settings), now_ms)
        self._open.setdefault(cabinet_id, set()).add(name)
        if alert is None or alert.state == "resolved":
            alert = Alert(
                cabinet_id, name, "pending", finding.severity, finding.summary,
                finding.since_ms, now_ms, stage=finding.stage,
            )  # fmt: skip
            self.alerts[key] = alert
        alert.clear_since_ms = 0
        alert.summary = finding.summary
        if alert.state == "pending":
            if now_ms - alert.changed_ms < rule.fire_after_ms(settings):
                return []
            alert.state = "firing"
            alert.changed_ms = now_ms
            alert.last_notified_ms = now_ms
            return [self._transition(alert, "firing", now_ms)]
        if finding.stage > alert.stage:
            alert.stage = finding.stage
            alert.severity = finding.severity
            alert.last_notified_ms = now_ms
            return [self._transition(alert, "escalated", now_ms, number=finding.stage)]
        return []

    def _clear(self, alert: Alert, hold_ms: int, now_ms: int) -> list[Transition]:
        if alert.state == "resolved":
            return []
        if alert.state == "pending":
            del self.alerts[(alert.cabinet_id, alert.rule)]
            self._closed(alert)
            return []
        if not alert.clear_since_ms:
            alert.clear_since_ms = now_ms
        if now_ms - alert.clear_since_ms < hold_ms:
            return []
        alert.state = "resolved"
        alert.changed_ms = now_ms
        self._closed(alert)
        return [self._transition(alert, "resolved", now_ms)]

    def _closed(self, alert: Alert) -> None:
        rules = self._open.get(alert.cabinet_id)
        if rules is not None:
            rules.discard(alert.rule)
            if not rules:
                del self._open[alert.cabinet_id]

    def _repeats(self, now_ms: int) -> list[Transition]:
        transitions = []
        for alert in self.alerts.values():
            if alert.severity != "critical" or alert.state != "firing":
                continue
            every = self.settings_for(alert.cabinet_id).repeat_critical_s * 1000
            if now_ms - alert.last_notified_ms >= every:
                alert.last_notified_ms = now_ms
                alert.repeats += 1
                transitions.append(self._transition(alert, "repeat", now_ms, alert.repeats))
        return transitions

    def _transition(
        self, alert: Alert, kind: TransitionKind, now_ms: int, number: int = 0
    ) -> Transition:
        return Transition(
            alert.cabinet_id, alert.rule, kind, alert.severity, alert.summary,
            alert.since_ms, now_ms, number, self.is_silenced(alert, now_ms),
        )  # fmt: skip

    def is_silenced(self, alert: Alert, now_ms: int) -> bool:
        return any(
            s.cabinet_id == alert.cabinet_id and s.rule in ("", alert.rule) and s.until_ms > now_ms
            for s in self.silences
        )

    # --- readiness -------------------------------------------------------------------------

    def readiness(self, cabinet_id: str) -> tuple[str, str]:
        """One value for the map: available, in_use, not_ready (with the reason), offline."""
        state = self.cabinets.get(cabinet_id)
        if state is None:
            return "offline", "never heard from"
        active = [
            (rule, alert)
            for name, rule in self._rules
            if (alert := self.alerts.get((cabinet_id, name))) is not None
            and alert.state in OPEN_STATES
        ]
        for rule, alert in active:
            if rule.means_offline:
                return "offline", alert.summary
        if not state.aed_present and not state.maintenance:
            return "in_use", "AED out of the cabinet"
        ranked = [(rule.not_ready_rank, alert.summary) for rule, alert in active
                  if rule.not_ready_rank is not None]  # fmt: skip
        if ranked:
            return "not_ready", min(ranked)[1]
        if not state.aed_present:
            return "not_ready", "AED out for maintenance"
        return "available", ""
