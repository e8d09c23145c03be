"""A staged firmware rollout, pure: which cabinets go in which wave, and what to do next given
what the cabinets said. No clock, no I/O: the caller passes the time and the messages, and
sends the offers this returns (aedfleet/rollout/driver.py).

Waves: one cabinet, then up to 5 % of the fleet, 25 %, and the rest. Cabinets are ordered so
that every district, and every group of cabinets within a few minutes' walk of each other
(the "golden four minutes" around a crowded place), is spread over the waves: no wave holds
all of a district's cabinets, nor every AED of such a group, when the group has two or more.

Each wave is offered to its cabinets as they are online and not in use (door shut, AED in,
no maintenance). A wave is through once every cabinet in it runs the version or failed; it
then soaks: a failure (ota_failed, a rollback, a fault) during the soak counts too. A wave
whose failures pass the threshold halts the rollout, with the reason; the rest of the fleet
never receives it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final

WAVE_SHARES: Final = (0.0, 0.05, 0.25, 1.0)  # cumulative share of the fleet after each wave
NEIGHBOUR_M: Final = 400.0  # about four minutes' brisk walk with an AED and back
EARTH_RADIUS_M: Final = 6_371_000.0


@dataclass(frozen=True)
class Site:
    """What the plan needs of an inventory cabinet."""

    id: str
    district: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Policy:
    soak_s: int = 3600  # a wave must stay free of failures this long before the next
    max_failure_share: float = 0.1  # more failed than this share of a wave halts (wave 1: any)
    report_s: int = 1800  # an offered cabinet that says nothing this long has failed


def distance_m(a: Site, b: Site) -> float:
    """Great-circle distance (haversine)."""
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi, dlon = phi2 - phi1, math.radians(b.lon - a.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def groups(sites: Sequence[Site], neighbour_m: float = NEIGHBOUR_M) -> list[frozenset[str]]:
    """The sets of cabinets that must never all be updated at once: each district, and each
    cabinet with the others within `neighbour_m` of it; only sets of two or more."""
    found: set[frozenset[str]] = set()
    by_district: dict[str, set[str]] = defaultdict(set)
    for site in sites:
        by_district[site.district].add(site.id)
        near = {other.id for other in sites if distance_m(site, other) <= neighbour_m}
        found.add(frozenset(near))
    found.update(frozenset(members) for members in by_district.values())
    return sorted((g for g in found if len(g) > 1), key=lambda g: (len(g), sorted(g)))


def wave_sizes(count: int) -> list[int]:
    """1, up to 5 %, up to 25 %, the rest (empty waves left out)."""
    sizes: list[int] = []
    done = 0
    for share in WAVE_SHARES:
        target = count if share == 1.0 else max(done + 1, math.ceil(count * share))
        target = min(count, target)
        if target > done:
            sizes.append(target - done)
            done = target
    return sizes


def plan_waves(sites: Sequence[Site], neighbour_m: float = NEIGHBOUR_M) -> list[list[str]]:
    """The waves, each a list of cabinet ids. Districts take turns (so the early waves draw
    from many), then cabinets are swapped between waves until no group has all its members
    in one wave (where the group can be split at all)."""
    by_district: dict[str, list[str]] = defaultdict(list)
    for site in sorted(sites, key=lambda s: (s.district, s.id)):
        by_district[site.district].append(site.id)
    order: list[str] = []
    queues = [list(ids) for _name, ids in sorted(by_district.items())]
    while any(queues):
        for queue in queues:
            if queue:
                order.append(queue.pop(0))
    waves: list[list[str]] = []
    start = 0
    for size in wave_sizes(len(order)):
        waves.append(order[start : start + size])
        start += size
    _split_groups(waves, groups(sites, neighbour_m))
    return waves


def _split_groups(waves: list[list[str]], must_split: list[frozenset[str]]) -> None:
    def wave_of(cabinet: str) -> int:
        return next(i for i, wave in enumerate(waves) if cabinet in wave)

    def whole(group: frozenset[str]) -> bool:
        return len({wave_of(c) for c in group}) == 1

    for _round in range(len(must_split) * 4 + 4):
        broken = [g for g in must_split if whole(g)]
        if not broken or len(waves) < 2:
            return
        group = broken[0]
        home = wave_of(next(iter(group)))
        moved = False
        for other in (i for i in range(len(waves)) if i != home):
            for candidate in sorted(waves[other]):
                if candidate in group:
                    continue
                mine = sorted(group)[-1]
                waves[home][waves[home].index(mine)] = candidate
                waves[other][waves[other].index(candidate)] = mine
                if sum(whole(g) for g in must_split) < len(broken):
                    moved = True
                    break
                waves[other][waves[other].index(mine)] = candidate  # undo: no better
                waves[home][waves[home].index(candidate)] = mine
            if moved:
                break
        if not moved:
            return  # what is left cannot be split by swapping (e.g. one cabinet per wave)


# --- the rollout's state --------------------------------------------------------------------

PENDING, OFFERED, APPLIED, FAILED = "pending", "offered", "applied", "failed"
OFFERING, SOAKING, HALTED, DONE = "offering", "soaking", "halted", "done"


@dataclass
class CabinetState:
    wave: int
    state: str = PENDING
    reason: str = ""
    offered_ms: int = 0
    online: bool = False
    attended: bool = False
    fw: str = ""


@dataclass
class Rollout:
    version: str
    waves: list[list[str]]
    policy: Policy = field(default_factory=Policy)
    wave: int = 0
    phase: str = OFFERING
    soak_until_ms: int = 0
    reason: str = ""
    cabinets: dict[str, CabinetState] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for index, wave in enumerate(self.waves):
            for cabinet in wave:
                self.cabinets.setdefault(cabinet, CabinetState(index))

    # --- what the cabinets say -------------------------------------------------------------

    def observe(self, cabinet: str, kind: str, message: dict[str, Any], now_ms: int) -> None:
        """A validated message from a cabinet: its status, telemetry or event."""
        state = self.cabinets.get(cabinet)
        if state is None:
            return
        if kind == "status":
            state.online = message.get("state") == "online"
            state.fw = str(message.get("fw", state.fw))
            if state.online and state.fw == self.version and state.state == OFFERED:
                state.state = APPLIED
        elif kind == "telemetry":
            state.fw = str(message.get("fw", state.fw))
            state.attended = bool(
                message.get("door") or not message.get("aed", True) or message.get("maint")
            )
        elif kind == "event":
            self._event(state, message)

    def _event(self, state: CabinetState, event: dict[str, Any]) -> None:
        name = event.get("ev")
        if name in ("door_open", "aed_removed", "maint_enter"):
            state.attended = True
        elif name in ("door_close", "aed_returned", "maint_exit"):
            state.attended = False  # the next telemetry says if anything else is still open
        elif name == "ota_applied" and event.get("fw") == self.version:
            state.fw = self.version
            if state.state in (PENDING, OFFERED):
                state.state = APPLIED
        elif name == "ota_failed" and event.get("fw") == self.version:
            self._fail(state, str(event.get("reason", "")))
        elif name == "ota_rolled_back" and event.get("from") == self.version:
            self._fail(state, state.reason or "rolled_back")
        elif name == "fault" and state.state == APPLIED and state.wave == self.wave:
            self._fail(state, f"fault {event.get('code', '')}")  # a new fault while it soaks

    def _fail(self, state: CabinetState, reason: str) -> None:
        if state.state != PENDING:
            state.state = FAILED
            state.reason = reason

    # --- what to do now --------------------------------------------------------------------

    def step(self, now_ms: int) -> list[str]:
        """Advance; returns the cabinets to offer the release to now."""
        if self.phase in (HALTED, DONE):
            return []
        wave = [self.cabinets[c] for c in self.waves[self.wave]]
        for state in wave:
            late = now_ms - state.offered_ms >= self.policy.report_s * 1000
            if state.state == OFFERED and late:
                self._fail(state, "no_report")
        failed = [s for s in wave if s.state == FAILED]
        allowed = math.floor(len(wave) * self.policy.max_failure_share)
        if len(failed) > allowed:
            self.phase = HALTED
            reasons = sorted({s.reason for s in failed})
            self.reason = (
                f"wave {self.wave + 1}: {len(failed)} of {len(wave)} failed "
                f"({', '.join(reasons)}); threshold {allowed}"
            )
            return []
        if self.phase == OFFERING:
            offer = []
            for cabinet in self.waves[self.wave]:
                state = self.cabinets[cabinet]
                if state.state == PENDING and state.fw == self.version:
                    state.state = APPLIED  # already runs it
                elif state.state == PENDING and state.online and not state.attended:
                    state.state = OFFERED
                    state.offered_ms = now_ms
                    offer.append(cabinet)
            if all(s.state in (APPLIED, FAILED) for s in wave):
                self.phase = SOAKING
                self.soak_until_ms = now_ms + self.policy.soak_s * 1000
            return offer
        if now_ms >= self.soak_until_ms:  # soaked without passing the threshold
            if self.wave + 1 == len(self.waves):
                self.phase = DONE
                return []
            self.wave += 1
            self.phase = OFFERING
            return self.step(now_ms)
        return []

    def withdrawn(self) -> list[str]:
        """After a halt: the cabinets offered the release that do not run it (their offer
        is taken back; those that failed roll back by themselves)."""
        if self.phase != HALTED:
            return []
        return [c for c, s in self.cabinets.items() if s.state in (OFFERED, FAILED)]

    # --- what the operator sees ------------------------------------------------------------

    def counts(self) -> list[dict[str, int]]:
        """Per wave: how many cabinets are in each state."""
        rows = []
        for wave in self.waves:
            row = {PENDING: 0, OFFERED: 0, APPLIED: 0, FAILED: 0}
            for cabinet in wave:
                row[self.cabinets[cabinet].state] += 1
            rows.append(row)
        return rows

    def versions(self) -> dict[str, int]:
        found: dict[str, int] = defaultdict(int)
        for state in self.cabinets.values():
            found[state.fw or "unknown"] += 1
        return dict(sorted(found.items()))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rollout:
        cabinets = {k: CabinetState(**v) for k, v in data["cabinets"].items()}
        fields = {k: v for k, v in data.items() if k not in ("cabinets", "policy")}
        return cls(**fields, policy=Policy(**data["policy"]), cabinets=cabinets)


def sites_of(cabinets: Iterable[Any]) -> list[Site]:
    """Sites from inventory cabinets (anything with id, district, lat and lon)."""
    return [Site(c.id, c.district, c.lat, c.lon) for c in cabinets]
