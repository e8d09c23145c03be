"""The collector's alerting shell: the pure engine fed by validated messages and the clock,
its transitions stored, written to InfluxDB, routed and queued for the notifiers."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import aiohttp
import msgspec

from aedfleet.alerts.engine import OPEN_KINDS, OPEN_STATES, AlertEngine, Silence
from aedfleet.alerts.firmware_points import FirmwarePoints
from aedfleet.alerts.heartbeat import Heartbeat
from aedfleet.alerts.readiness_change import ReadinessChanges
from aedfleet.alerts.rules import RULES
from aedfleet.alerts.snapshot import Snapshots
from aedfleet.alerts.store import open_store
from aedfleet.collector import lineprotocol as lp
from aedfleet.collector import protocol as p
from aedfleet.collector.clock import wall_ms
from aedfleet.collector.config import CollectorConfig, ConfigError, settings_from
from aedfleet.collector.enrich import PointEncoder
from aedfleet.collector.inventory import Cabinet, Inventory
from aedfleet.notify.aliyun import AliyunNotifier
from aedfleet.notify.demo_outbox import FileOutboxNotifier
from aedfleet.notify.dispatcher import Dispatcher
from aedfleet.notify.http import check_url
from aedfleet.notify.messages import Notification, Notifier, Transition
from aedfleet.notify.router import Router, RoutingConfig
from aedfleet.notify.text import compose
from aedfleet.notify.twilio import TwilioNotifier
from aedfleet.notify.webhook import WebhookNotifier, signing_key

if TYPE_CHECKING:
    from aedfleet.coverage.watch import CoverageWatch
    from aedfleet.responders.dispatch import Responders

log = logging.getLogger("aedfleet.alerts")
MAX_SILENCE_MINUTES: Final = 7 * 24 * 60
MAX_SILENCES: Final = 500  # active at once: every change rewrites them all
MAX_REASON_CHARS: Final = 200
SWEEP_EVERY_MS = 5_000
SAVE_EVERY_MS = 30_000
SLICE = 250  # cabinets judged between two looks at the network


class OperatorError(ValueError):
    """An operator's request the collector refuses; the message says why."""


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), SLICE):
        yield items[start : start + SLICE]


def check_notify(config: CollectorConfig) -> None:
    """Refuse at start-up what would leak or forge a notification: a provider or webhook URL
    in clear over a network, an unsigned webhook."""
    notify = config.notify
    try:
        if notify.sms_provider == "twilio":
            check_url(config.twilio.base_url, "twilio.base_url")
        if notify.sms_provider == "aliyun":
            check_url(config.aliyun.endpoint, "aliyun.endpoint")
        if notify.webhook_url:
            check_url(notify.webhook_url, "notify.webhook_url")
            signing_key(notify.webhook_secret)
    except ValueError as error:
        raise ConfigError(str(error)) from error


def notifiers_for(config: CollectorConfig, session: aiohttp.ClientSession) -> dict[str, Notifier]:
    notify = config.notify
    chosen: dict[str, Notifier] = {}
    if notify.sms_provider == "twilio":
        t = config.twilio
        chosen["sms"] = TwilioNotifier(
            session, account_sid=t.account_sid, auth_token=t.auth_token, sender=t.sender,
            base_url=t.base_url, timeout_s=notify.timeout_s,
        )  # fmt: skip
    elif notify.sms_provider == "aliyun":
        a = config.aliyun
        chosen["sms"] = AliyunNotifier(
            session, access_key_id=a.access_key_id, access_key_secret=a.access_key_secret,
            sign_name=a.sign_name, template_code=a.template_code, endpoint=a.endpoint,
            timeout_s=notify.timeout_s,
        )  # fmt: skip
    elif notify.sms_provider == "outbox":
        chosen["sms"] = FileOutboxNotifier(Path(notify.outbox_path))
    elif notify.sms_provider != "none":
        raise ValueError(f"notify.sms_provider must be none, twilio, aliyun or outbox, "
                         f"not {notify.sms_provider!r}")  # fmt: skip
    if notify.webhook_url:
        chosen["webhook"] = WebhookNotifier(
            session, url=notify.webhook_url, secret=notify.webhook_secret,
            timeout_s=notify.timeout_s,
        )  # fmt: skip
    return chosen


COVERAGE_LOST: Final = "coverage_lost"


def _coverage_watch(
    config: CollectorConfig, inventory: Inventory, now_ms: int
) -> CoverageWatch | None:
    """Live coverage when `[coverage] places` is set; a bad place row or cabinet access hours
    stop start-up, naming the line or the cabinet."""
    if not config.coverage.places:
        return None
    from aedfleet.coverage.watch import CoverageWatch  # noqa: PLC0415 (scipy only when used)

    c = config.coverage
    return CoverageWatch.load(Path(c.places), inventory, retrieval_s=c.retrieval_s,
                              walk_m_per_s=c.walk_m_per_s, detour_factor=c.detour_factor,
                              utc_offset_minutes=config.fleet.utc_offset_minutes,
                              now_ms=now_ms)  # fmt: skip


def _responders(config: CollectorConfig) -> Responders | None:
    """Responder dispatch when `[responders] file` is set; a bad row, a row without consent or
    a file others may read stop start-up (docs/responders.md)."""
    r = config.responders
    if not r.file:
        return None
    from aedfleet.responders.dispatch import Responders  # noqa: PLC0415 (scipy only when used)
    from aedfleet.responders.select import Limits  # noqa: PLC0415

    limits = Limits(radius_m=r.radius_m, max_responders=r.max_responders,
                    rest_minutes=r.rest_minutes, daily_budget=r.daily_budget,
                    utc_offset_minutes=config.fleet.utc_offset_minutes)  # fmt: skip
    try:
        return Responders.load(Path(r.file), limits)
    except (OSError, ValueError) as error:
        raise ConfigError(str(error)) from error


class Alerting:
    def __init__(
        self,
        config: CollectorConfig,
        inventory: Inventory,
        encoder: PointEncoder,
        write_line: Callable[[str], None],
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        self.config = config
        self._clock = clock
        self.inventory = inventory
        self._encoder = encoder
        self._write_line = write_line
        check_notify(config)
        fleet_settings, cabinet_settings = settings_from(config)
        grace_s = config.alerts.broker_grace_s
        grace_ms = None if grace_s is None else grace_s * 1000
        self.engine = AlertEngine(fleet_settings, cabinet_settings, broker_grace_ms=grace_ms)
        self.store = open_store(config.alerts)
        self.store.load(self.engine)
        notify = config.notify
        self.router = Router(
            RoutingConfig(
                duty_officers=tuple(notify.duty_officers), quiet_hours=notify.quiet_hours,
                budget_per_hour=notify.budget_per_hour,
                utc_offset_minutes=config.fleet.utc_offset_minutes,
            )
        )  # fmt: skip
        self.dispatcher: Dispatcher | None = None
        self.heartbeat = Heartbeat(config.alerts.readiness_every_s * 1000, started_ms=clock())
        self.snapshots = Snapshots(self.engine, inventory, encoder)
        self.firmware = FirmwarePoints(self.engine, encoder)  # the fleet's versions over time
        self.changes = ReadinessChanges(encoder)  # the last readiness written; its changes
        self.coverage = _coverage_watch(config, inventory, clock())
        if self.coverage is not None:
            for place_id, open_place in self.store.open_places().items():
                if not self.coverage.restore(place_id, *open_place):
                    self.store.place_closed(place_id)  # no longer a key place
        self.responders = _responders(config)

    # --- from the message path (must stay cheap) -----------------------------------------

    def on_message(self, message: p.DeviceMessage, at_ms: int) -> None:
        transitions = self.engine.on_message(message, at_ms)
        if not transitions and type(message) is p.Telemetry:
            return  # nearly every message: the tick judges what it changed
        transitions = self._with_coverage(transitions, [message.id], at_ms)
        if transitions:
            self.handle(transitions, at_ms)
        self.store.save(self.engine, {message.id})  # events are rare: keep them at once

    # --- the clock -------------------------------------------------------------------------

    async def run(self, session: aiohttp.ClientSession, broker_up: Callable[[], bool]) -> None:
        self.dispatcher = Dispatcher(self.store.sends, notifiers_for(self.config, session),
                                     self._write_line, clock=self._clock)  # fmt: skip
        sending = asyncio.create_task(self.dispatcher.run())
        # the whole fleet is swept on the heartbeat's cadence, the first one interval after the
        # start, not at it: a restart is when a backlog drains, and what it changes is judged
        # at the next tick anyway (dirty)
        sweeps = Heartbeat(SWEEP_EVERY_MS, started_ms=self._clock())
        last_save = 0
        unsaved: set[str] = set()
        try:
            while True:
                now = self._clock()
                self.engine.broker_connected(broker_up(), now)
                dirty, self.engine.dirty = self.engine.dirty, set()
                # what changed is judged every tick; the whole fleet (timers) every few seconds
                sweep = sweeps.due(now)
                transitions = await self._tick(now, list(self.engine.cabinets) if sweep else dirty)
                alerted = {t.cabinet_id for t in transitions}
                transitions = self._with_coverage(transitions, alerted | dirty, now)
                if transitions:
                    self.handle(transitions, now)
                unsaved |= dirty
                if alerted:
                    self.store.save(self.engine, alerted)
                # telemetry's changes are saved in bulk: a restart loses at most these seconds
                if unsaved and now - last_save >= SAVE_EVERY_MS:
                    for chunk in _chunks(list(unsaved)):
                        self.store.save(self.engine, set(chunk))
                        await asyncio.sleep(0)
                    unsaved, last_save = set(), now
                # readiness: on every change, and for the whole fleet at a steady interval
                due = self.heartbeat.due(now)
                targets = (
                    set(self.inventory) | set(self.engine.cabinets) if due else alerted | dirty
                )
                if due and self.coverage is not None:
                    for lines in self.coverage.heartbeat(now):
                        for line in lines:
                            self._write_line(line)
                        await asyncio.sleep(0)
                for chunk in _chunks(list(targets)):
                    self._write_readiness(chunk, now, force=due)
                    snapshots = self.snapshots.lines(chunk, now, force=due)
                    for line in snapshots + self.firmware.lines(chunk, now, force=due):
                        self._write_line(line)
                    await asyncio.sleep(0)
                await asyncio.sleep(self.config.alerts.tick_ms / 1000)
        finally:
            sending.cancel()

    def close(self) -> None:
        """The store stays open while run() restarts; closed once, at the collector's stop."""
        self.store.close()

    async def _tick(self, now_ms: int, cabinet_ids: Iterable[str]) -> list[Transition]:
        # in slices, yielding between them: a door event waiting on the loop is handled
        # within milliseconds even when 10,000 cabinets are being judged
        transitions = self.engine.tick(now_ms, [])  # repeats and silences
        for chunk in _chunks(list(cabinet_ids)):
            transitions += self.engine.tick(now_ms, chunk)
            await asyncio.sleep(0)
        return transitions

    # --- transitions -----------------------------------------------------------------------

    def handle(self, transitions: list[Transition], now_ms: int) -> None:
        for transition in transitions:
            self._write_line(self._alert_line(transition))
            if transition.kind != "info":
                log.warning("alert %s %s %s: %s", transition.kind, transition.cabinet_id,
                            transition.rule, transition.summary)  # fmt: skip
            self._queue(transition, now_ms)
        if self.dispatcher is not None:
            self.dispatcher.wake.set()

    def _queue(self, transition: Transition, now_ms: int) -> None:
        cabinet = self.inventory.get(transition.cabinet_id)
        rule = RULES.get(transition.rule)  # none for an audit fact
        routes = rule.routes if rule is not None else ()
        text = compose(transition, cabinet, what_zh=rule.text_zh if rule is not None else "",
                       language=self.config.notify.language,
                       utc_offset_minutes=self.config.fleet.utc_offset_minutes)  # fmt: skip
        if self.coverage is not None and transition.rule == COVERAGE_LOST:
            text = self.coverage.text(transition)  # about a place, not a cabinet
            routes = self.coverage.routes

        if "sms" in self._channels():
            # in the same dispatch as the duty officers', queued first: never after them
            text += self._dispatch_responders(transition, cabinet, now_ms)

        def notification(recipient: str) -> Notification:
            return Notification(
                f"{transition.key}:{recipient}", recipient, text, transition.cabinet_id,
                transition.rule, transition.kind, transition.severity,
            )  # fmt: skip

        if "sms" in self._channels():
            deliveries, over_budget = self.router.deliveries(transition, routes, cabinet, now_ms)
            for delivery in deliveries:
                self.store.sends.enqueue(notification(delivery.recipient), "sms",
                                   delivery.not_before_ms, now_ms)  # fmt: skip
            for phone in over_budget:
                self.store.sends.enqueue(notification(phone), "sms", now_ms, now_ms, "over_budget")
        if "webhook" in self._channels() and transition.kind != "info":
            self.store.sends.enqueue(notification("webhook"), "webhook", now_ms, now_ms)

    def _dispatch_responders(
        self, transition: Transition, cabinet: Cabinet | None, now_ms: int
    ) -> str:
        """An emergency's responders queued; what the duty officers' text adds
        (docs/responders.md)."""
        from aedfleet.responders.dispatch import EMERGENCY_RULE, dispatch_line  # noqa: PLC0415
        from aedfleet.responders.text import duty_note  # noqa: PLC0415

        if (self.responders is None or cabinet is None or transition.rule != EMERGENCY_RULE
                or transition.kind != "firing" or transition.silenced):  # fmt: skip
            return ""
        dispatch = self.responders.dispatch(transition, cabinet, now_ms)
        for sms in dispatch.notifications:
            self.store.sends.enqueue(sms, "sms", now_ms, now_ms)
        alerted = len(dispatch.notifications)
        self._write_line(dispatch_line(self._encoder.tags(cabinet.id), "dispatch", dispatch,
                                       alerted, now_ms))  # fmt: skip
        nearest = dispatch.distances_m[0] if dispatch.distances_m else None
        log.warning("responders: %d alerted for %s (%d within %.0f m)", alerted, cabinet.id,
                    dispatch.in_radius, self.responders.limits.radius_m)  # fmt: skip
        return " " + duty_note(alerted, nearest, self.config.notify.language)

    def _stand_down(self, transition: Transition, now_ms: int) -> None:
        """After a false-alarm acknowledgement: a short stand-down to the responders texted."""
        from aedfleet.responders.dispatch import EMERGENCY_RULE, dispatch_line  # noqa: PLC0415

        cabinet = self.inventory.get(transition.cabinet_id)
        if (self.responders is None or cabinet is None or "sms" not in self._channels()
                or transition.rule != EMERGENCY_RULE):  # fmt: skip
            return
        stand_downs = self.responders.stand_down(cabinet, transition.since_ms)
        for sms in stand_downs:
            self.store.sends.enqueue(sms, "sms", now_ms, now_ms)
        self._write_line(dispatch_line(self._encoder.tags(cabinet.id), "stand_down", None,
                                       len(stand_downs), now_ms))  # fmt: skip
        if self.dispatcher is not None:
            self.dispatcher.wake.set()

    def _channels(self) -> set[str]:
        notify = self.config.notify
        channels = {"sms"} if notify.sms_provider != "none" else set()
        return channels | ({"webhook"} if notify.webhook_url else set())

    def _alert_line(self, t: Transition) -> str:
        # `open` and `level` repeat the transition's outcome and severity as fields, so a
        # dashboard can ask for each alert's latest state (InfluxQL cannot last() a tag)
        is_open = int(t.kind in OPEN_KINDS)
        tags = self._encoder.tags(t.cabinet_id)
        if self.coverage is not None and t.rule == COVERAGE_LOST:
            tags = self.coverage.alert_tags(t.cabinet_id)  # the place and its district
        return (
            f"alert{tags},rule={lp.tag(t.rule)},kind={t.kind},"
            f"severity={t.severity} summary={lp.string(t.summary)},since_ms={t.since_ms}i,"
            f"number={t.number}i,silenced={lp.boolean(t.silenced)},open={is_open}i,"
            f"level={lp.string(t.severity)} {t.at_ms}"
        )

    # --- coverage (docs/coverage.md) -------------------------------------------------------

    def _with_coverage(
        self, transitions: list[Transition], cabinet_ids: Iterable[str], now_ms: int
    ) -> list[Transition]:
        """Coverage after these cabinets' readiness and the clock: its points written, the
        cabinets' alerts escalated where their outage left places uncovered, and the places'
        coverage_lost transitions added."""
        if self.coverage is None:
            return transitions
        lines, places = self.coverage.update(cabinet_ids, self.engine.readiness, now_ms)
        for line in lines:
            self._write_line(line)
        for place in places:  # kept, so a restart neither forgets nor re-sends it
            if place.kind == "firing":
                self.store.place_opened(place.cabinet_id, place.since_ms)
            else:
                self.store.place_closed(place.cabinet_id)
        readiness = self.engine.readiness
        places = [self._silenced(t, now_ms) for t in places]
        escalated = [self.coverage.escalate(t, readiness) for t in transitions]
        for before, after in zip(transitions, escalated, strict=True):
            key = (after.cabinet_id, after.rule)
            if after.severity != before.severity:  # its cabinet_state says so too
                self.snapshots.escalated[key] = (after.since_ms, after.severity)
            elif after.kind == "resolved":
                self.snapshots.escalated.pop(key, None)
        return escalated + places

    def _silenced(self, transition: Transition, now_ms: int) -> Transition:
        """A place's transition, marked silenced while an operator silences its place."""
        silenced = any(
            s.cabinet_id == transition.cabinet_id and s.rule in ("", transition.rule)
            and s.until_ms > now_ms for s in self.engine.silences
        )  # fmt: skip
        return msgspec.structs.replace(transition, silenced=silenced) if silenced else transition

    # --- readiness -------------------------------------------------------------------------

    def _write_readiness(self, cabinet_ids: list[str], now_ms: int, *, force: bool) -> None:
        for cabinet_id in cabinet_ids:
            value = self.engine.readiness(cabinet_id)
            # the change point, and whether anything changed: the one record of what was written
            change = self.changes.line(cabinet_id, value, now_ms)
            if change is not None:
                self._write_line(change)
            elif not force:
                continue
            state, reason = value
            self._write_line(
                f"readiness{self._encoder.tags(cabinet_id)} state={lp.string(state)},"
                f"reason={lp.string(reason)},available={int(state == 'available')}i {now_ms}"
            )

    # --- operators -------------------------------------------------------------------------

    def active(self) -> list[dict[str, Any]]:
        places = self.coverage.open_alerts() if self.coverage is not None else []
        return [
            msgspec.to_builtins(alert)
            for alert in self.engine.alerts.values()
            if alert.state in OPEN_STATES
        ] + places

    def _is_place(self, cabinet_id: str, rule: str) -> bool:
        """An operator's request about a key place's coverage_lost (docs/coverage.md)."""
        if self.coverage is None or rule not in ("", COVERAGE_LOST):
            return False
        return cabinet_id not in self.inventory and self.coverage.is_place(cabinet_id)

    def acknowledge(
        self, cabinet_id: str, rule: str, by: str, *, false_alarm: bool = False
    ) -> bool:
        """`by`: the name of the operator's token; `false_alarm`: the responders stand down."""
        now = self._clock()
        if self.coverage is not None and rule == COVERAGE_LOST:
            return self._acknowledge_place(cabinet_id, by, now)
        transition = self.engine.acknowledge(cabinet_id, rule, now, by)
        if transition is None:
            return False
        self.handle([transition], now)
        if false_alarm:
            self._stand_down(transition, now)
        self.store.save(self.engine, {cabinet_id})
        self.engine.dirty.add(cabinet_id)  # its cabinet_state snapshot says acknowledged
        self._record("ack", cabinet_id, rule, by, transition.severity, now,
                     reason="false alarm" if false_alarm else "")  # fmt: skip
        return True

    def _acknowledge_place(self, place_id: str, by: str, now_ms: int) -> bool:
        assert self.coverage is not None
        transition = self.coverage.acknowledge(place_id, by, now_ms)
        if transition is None:
            return False
        self.store.place_acknowledged(place_id, by)
        self.handle([self._silenced(transition, now_ms)], now_ms)
        self._record("ack", place_id, COVERAGE_LOST, by, transition.severity, now_ms)
        return True

    def silence(self, cabinet_id: str, rule: str, minutes: int, reason: str, by: str) -> Silence:
        """Hold back notifications of one cabinet (one rule, or all); refused with the reason
        when the cabinet or rule is unknown, or the silence too long or one too many."""
        now = self._clock()
        place = self._is_place(cabinet_id, rule)
        if cabinet_id not in self.inventory and not place:
            raise OperatorError(f"cabinet {cabinet_id!r} is not in the inventory")
        if rule and rule not in RULES and not place:
            raise OperatorError(f"no rule {rule!r}; one of {', '.join(sorted(RULES))}")
        if not 1 <= minutes <= MAX_SILENCE_MINUTES:
            raise OperatorError(f"minutes must be 1 to {MAX_SILENCE_MINUTES} (7 days)")
        if not reason or len(reason) > MAX_REASON_CHARS or not reason.isprintable():
            raise OperatorError(f"the reason must be 1 to {MAX_REASON_CHARS} printable characters")
        if len([s for s in self.engine.silences if s.until_ms > now]) >= MAX_SILENCES:
            raise OperatorError(f"{MAX_SILENCES} silences are active already; lift some first")
        made = Silence(cabinet_id, rule, now + minutes * 60_000, reason, secrets.token_hex(6),
                       by, now)  # fmt: skip
        self.engine.silence(made)
        self.store.save(self.engine, set())
        if not place:
            self.engine.dirty.add(cabinet_id)  # its snapshot says silenced
        self._record("silence", cabinet_id, rule, by, "", now, reason=reason,
                     until_ms=made.until_ms, silence_id=made.id)  # fmt: skip
        return made

    def silences(self) -> list[Silence]:
        now = self._clock()
        return [s for s in self.engine.silences if s.until_ms > now]

    def unsilence(self, silence_id: str, by: str) -> bool:
        found = [s for s in self.engine.silences if s.id == silence_id]
        if not silence_id or not found:
            return False
        self.engine.silences = [s for s in self.engine.silences if s.id != silence_id]
        self.store.save(self.engine, set())
        lifted = found[0]
        if lifted.cabinet_id in self.inventory:
            self.engine.dirty.add(lifted.cabinet_id)  # its snapshot no longer says silenced
        self._record("unsilence", lifted.cabinet_id, lifted.rule, by, "", self._clock(),
                     reason=lifted.reason, silence_id=silence_id)  # fmt: skip
        return True

    def _record(
        self,
        action: str,
        cabinet_id: str,
        rule: str,
        by: str,
        severity: str,
        now_ms: int,
        *,
        reason: str = "",
        until_ms: int = 0,
        silence_id: str = "",
    ) -> None:
        """An operator's acknowledgement or silence, in InfluxDB for the incidents dashboard
        and in the log: who (the token's name) did what to which alerts."""
        rule_tag = lp.tag(rule or "all")
        tags = self._encoder.tags(cabinet_id)
        if self._is_place(cabinet_id, rule):
            tags = self.coverage.alert_tags(cabinet_id) if self.coverage is not None else tags
        self._write_line(
            f"operator_action{tags},action={action},rule={rule_tag}"
            f" by={lp.string(by)},severity={lp.string(severity)},reason={lp.string(reason)},"
            f"until_ms={until_ms}i,silence={lp.string(silence_id)} {now_ms}"
        )
        log.warning("%s by %s: %s %s %s", action, ascii(by), cabinet_id, rule or "all rules",
                    ascii(reason) if reason else "")  # fmt: skip

    def readiness(self) -> dict[str, dict[str, str]]:
        ids = set(self.inventory) | set(self.engine.cabinets)
        return {
            cabinet: dict(zip(("state", "reason"), self.engine.readiness(cabinet), strict=True))
            for cabinet in sorted(ids)
        }
