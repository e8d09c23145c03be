"""The proof of issue 25 (docs/ha.md, "The whole proof"), all on loopback: a 3-node NATS
JetStream cluster, two `aedfleet collect` processes with the leader lease and the PostgreSQL
alert store, 200 simulated cabinets running the firmware's own code against all three nodes,
and the Twilio stand-in as the SMS provider with a duty officer.

During a steady stream with an emergency opening every few seconds (door opened, AED removed,
outside maintenance: the critical `opened` alert, texted to the duty officer and the
cabinet's guardian), each with SIGKILL, in turn: every NATS node one at a time (restarted and
serving again before the next), the active collector (the standby takes over; the killed one
comes back as the new standby), and a NATS node together with the active collector.
Afterwards InfluxDB holds every acknowledged event and telemetry exactly once (by cabinet and
seq), and every opening was texted exactly once to each recipient; the worst door -> SMS
delay during a failover is printed."""

from __future__ import annotations

import asyncio
import functools
import json
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest

from aedfleet.broker.accounts import COLLECTOR_USER
from aedfleet.services import LocalServices, ManagedProcess, free_port
from aedfleet.simulator.clock import SimClock
from aedfleet.simulator.environment import Environment
from aedfleet.simulator.simulated_cabinet import SimulatedCabinet
from tests.support.fake_providers import FakeTwilio, twilio_collector_sections
from tests.support.harness import cabinet_ids, collector_toml, inventory_file, rows_so_far
from tests.support.harness import until as harness_until
from tests.support.nats_cluster import NatsCluster, running_cluster
from tests.support.postgres import PostgresServer

pytestmark = [pytest.mark.asyncio, pytest.mark.services, pytest.mark.slow]

IDS = cabinet_ids(200)
DUTY = "+8613700000025"
GUARDIAN = "+8613800000000"  # every cabinet's guardian in the harness's inventory
RECIPIENTS = (DUTY, GUARDIAN)
DATABASE = "ha_proof"
OPEN_EVERY_S = 2.5  # an emergency opening this often, each at another cabinet
# a 6 s lease renewed every second: a takeover within 7 s of a SIGKILL, and a loaded machine
# (200 cabinets on 2 cores) may miss a few renewals without the active collector giving up
HA = {"lease": True, "ttl_s": 6.0, "renew_every_s": 1.0, "margin_s": 2.0}
ALERTS = {"tick_ms": 200, "repeat_critical_s": 3600, "readiness_every_s": 60}
# the cabinets publish slowly: telemetry every 10 s each, 20 messages a second for the fleet;
# the simulated board wakes at once on a switch change, so polling can be slow
FIRMWARE: dict[str, Any] = {"telemetry_s": 10, "poll_ms": 1000, "keepalive_s": 10,
            "pad_exp": "2099-01-01", "batt_exp": "2099-01-01"}  # fmt: skip
OPENED_ZH = "柜门被打开或AED被取出"  # the `opened` rule's name in its texts


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    # what a dead collector or node had delivered unacknowledged comes again after ack_wait:
    # 5 s here (30 s in production, docs/ha.md)
    with running_cluster(tmp_path / "nats", cabinet_ids=IDS, ack_wait="5s") as started:
        yield started


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio().running() as fake:
        yield fake


# the predicates ask servers: in a thread, so the cabinets' event loop goes on meanwhile
until = functools.partial(harness_until, in_thread=True, every_s=0.2)


class HaCollector:
    """`aedfleet collect` on the cluster's three nodes with the lease and the shared store:
    the active collector or a standby."""

    def __init__(self, name: str, workdir: Path, cluster: NatsCluster, services: LocalServices,
                 pg_url: str, pg_password: str, twilio: FakeTwilio) -> None:  # fmt: skip
        self.name = name
        workdir.mkdir(parents=True, exist_ok=True)
        self.http_port = free_port()
        sections: dict[str, dict[str, Any]] = {
            "mqtt": {"urls": cluster.urls, "username": COLLECTOR_USER, "keepalive_s": 10},
            "influx": {"url": services.influxdb.url, "database": DATABASE},
            "spool": {"dir": str(workdir / "spool")},
            "fleet": {"inventory": str(inventory_file(workdir / "inventory.csv", IDS))},
            "http": {"listen": f"127.0.0.1:{self.http_port}"},
            "alerts": {"state_dir": str(workdir / "state"), "store": pg_url, **ALERTS},
            "ha": HA,
            **twilio_collector_sections(twilio.url, [DUTY]),
        }
        config = collector_toml(workdir / "collector.toml", sections)
        self.log_path = workdir / "collector.log"
        self.process = ManagedProcess(
            f"collector {name}",
            [sys.executable, "-m", "aedfleet", "collect", "--config", str(config)],
            self.log_path,
            self.answering,
            env={
                "AEDFLEET_MQTT_PASSWORD": cluster.password(COLLECTOR_USER),
                "AEDFLEET_ALERTS_STORE_PASSWORD": pg_password,
            },
        )

    def _health(self) -> tuple[int, dict[str, Any]]:
        answer = httpx.get(f"http://127.0.0.1:{self.http_port}/healthz", timeout=2)
        return answer.status_code, answer.json()

    def answering(self) -> bool:
        try:
            self._health()
        except (httpx.HTTPError, ValueError):
            return False
        return True

    def active(self) -> bool:
        """Holding the lease, connected and subscribed on both of its connections."""
        try:
            code, health = self._health()
        except (httpx.HTTPError, ValueError):
            return False  # the standby's HTTP server closes as the active one's opens
        return code == 200 and bool(health.get("mqtt_subscribed"))

    def standby(self) -> bool:
        try:
            code, health = self._health()
        except (httpx.HTTPError, ValueError):
            return False
        return code == 503 and health.get("role") == "standby"

    def metric(self, name: str) -> float:
        text = httpx.get(f"http://127.0.0.1:{self.http_port}/metrics", timeout=2).text
        lines = [
            line for line in text.splitlines() if line.startswith(f"aedfleet_collector_{name} ")
        ]
        assert lines, f"no metric {name}"
        return float(lines[0].split()[1])

    def events_node(self, cluster: NatsCluster) -> int:
        """The node this collector's events connection is on."""
        _code, health = self._health()
        port = int(health["brokers"]["events"].rpartition(":")[2])
        return [node.mqtt_port for node in cluster.nodes].index(port)

    def kill(self) -> None:
        self.process.signal(signal.SIGKILL)
        self.process.stop()  # reaps it


class Opening(NamedTuple):
    cabinet: str
    at: float  # time.monotonic() when the test opened it, the stand-in's clock too


class Fleet:
    """200 simulated cabinets, each given the three nodes starting with its own (so a third
    of the fleet is on each node), and what each of them sent and had acknowledged."""

    def __init__(self, cluster: NatsCluster, workdir: Path) -> None:
        self.clock = SimClock()
        self.log = (workdir / "fleet.log").open("a", encoding="utf-8")
        urls = cluster.urls
        self.cabinets = {
            cabinet_id: SimulatedCabinet(
                cabinet_id,
                broker=[urls[(i + n) % len(urls)] for n in range(len(urls))],
                password=cluster.password(cabinet_id),
                data_dir=workdir / "fleet" / cabinet_id,
                log=self._line,
                clock=self.clock,
                environment=Environment(
                    random.Random(i), indoor=True, start_ms=self.clock.start_ms
                ),
                **FIRMWARE,
            )
            for i, cabinet_id in enumerate(IDS)
        }
        self.acknowledged: set[tuple[str, int]] = set()  # (cabinet, seq) PUBACKed
        self.attempted: set[tuple[str, int]] = set()  # (cabinet, seq) ever sent
        self.opening_acked: dict[str, float] = {}  # cabinet -> its opening's first PUBACK

    def _line(self, line: str) -> None:
        self.log.write(f"{time.strftime('%H:%M:%S')} {line}\n")

    async def start(self) -> None:
        for index, cabinet in enumerate(self.cabinets.values()):
            cabinet.start()  # boots the firmware's App: its link exists from here
            self._record(cabinet)
            if index % 20 == 19:
                await asyncio.sleep(0.1)  # a fleet powering up is spread out (fleet.py)

    def _record(self, cabinet: SimulatedCabinet) -> None:
        """Note every event and telemetry message the cabinet's link sends, and which of them
        the broker acknowledged (a QoS 1 publish returns True only on its PUBACK)."""
        link = cabinet.app.link
        publish = link.publish

        async def recorded(topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
            message = None if topic.endswith("/status") else json.loads(payload)
            if message is not None:
                self.attempted.add((cabinet.cabinet_id, message["seq"]))
            done: bool = await publish(topic, payload, qos=qos, retain=retain)
            if done and message is not None:
                self.acknowledged.add((cabinet.cabinet_id, message["seq"]))
                if message.get("ev") in ("door_open", "aed_removed"):
                    self.opening_acked.setdefault(cabinet.cabinet_id, time.monotonic())
            return done

        link.publish = recorded

    def all_connected(self) -> bool:
        return all(cabinet.connected for cabinet in self.cabinets.values())

    def drained(self) -> bool:
        return all(c.connected and len(c.app.outbox) == 0 for c in self.cabinets.values())

    async def stop(self) -> None:
        await asyncio.gather(*(cabinet.stop() for cabinet in self.cabinets.values()))
        self.log.close()


class Openings:
    """An emergency opening every OPEN_EVERY_S, each at the next cabinet: door opened and AED
    removed, outside maintenance. The cabinets stay open (one `opened` alert each, texted
    once to each recipient; a repeat comes only after an hour)."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.done: list[Opening] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        for cabinet_id in IDS:
            cabinet = self.fleet.cabinets[cabinet_id]
            cabinet.set("door", True)
            cabinet.set("aed", False)
            self.done.append(Opening(cabinet_id, time.monotonic()))
            await asyncio.sleep(OPEN_EVERY_S)  # the pace of the openings, not a wait for one

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def opened_texts(twilio: FakeTwilio) -> dict[tuple[str, str], list[float]]:
    """(cabinet, recipient) -> when each firing text of its `opened` alert arrived."""
    texts: dict[tuple[str, str], list[float]] = {}
    for request in twilio.delivered():
        body = request["body"]
        if OPENED_ZH not in body or "RESOLVED" in body:
            continue
        cabinet = body.split("[AED] Cabinet ", 1)[1].split(" ", 1)[0]
        texts.setdefault((cabinet, request["to"]), []).append(request["at"])
    return texts


def stored(influx: str) -> Counter[tuple[str, int]]:
    """(cabinet, seq) of every stored telemetry point and event, counted."""
    return Counter(
        (row["cabinet"], int(row["seq"]))
        for measurement in ("telemetry", "event")
        for row in rows_so_far(
            influx, DATABASE, f'SELECT "seq" FROM "{measurement}" GROUP BY "cabinet"'
        )
    )


async def in_thread(call: Callable[[], object]) -> None:
    await asyncio.to_thread(call)


class Failover(NamedTuple):
    what: str
    killed_at: float  # time.monotonic()
    recovered_at: float  # every cabinet connected, a collector active, the killed ones back


class Proof:
    """The cluster, the two collectors, the fleet and its openings, and the failovers done."""

    def __init__(self, cluster: NatsCluster, collectors: tuple[HaCollector, HaCollector],
                 fleet: Fleet) -> None:  # fmt: skip
        self.cluster = cluster
        self.active, self.standby = collectors
        self.fleet = fleet
        self.openings = Openings(fleet)
        self.failovers: list[Failover] = []
        self.unasked: list[str] = []  # a collector that gave up its lease unasked

    async def start(self, twilio: FakeTwilio) -> None:
        await in_thread(lambda: self.active.process.start(timeout_s=60))
        await until(self.active.active, 60, "the first collector active")
        await in_thread(lambda: self.standby.process.start(timeout_s=60))
        await until(self.standby.standby, 60, "the second collector a standby")
        await self.fleet.start()
        await until(self.fleet.all_connected, 120, "every cabinet connected")
        self.openings.start()
        await until(lambda: len(opened_texts(twilio)) >= 2 * len(RECIPIENTS), 60,
                    "the first openings texted")  # fmt: skip

    async def _failover(self, what: str, kill: Callable[[], None],
                        recovered: Callable[[], Awaitable[None]]) -> None:  # fmt: skip
        """Kill, then await recovery, a collector active with the other its standby, and
        every cabinet connected."""
        killed_at = time.monotonic()
        kill()
        await recovered()
        await self._settle()
        await until(self.fleet.all_connected, 120, f"every cabinet connected after {what}")
        self.failovers.append(Failover(what, killed_at, time.monotonic()))

    def _found_active(self) -> bool:
        """Whichever collector is active now is `active`."""
        for collector in (self.active, self.standby):
            if collector.active():
                if collector is self.standby:
                    self.active, self.standby = self.standby, self.active
                return True
        return False

    async def _settle(self) -> None:
        """A collector active and the other its standby. A collector whose lease renewals
        came late on an overloaded machine exits (75) unasked, and the standby takes over:
        it is noted and started again as the standby, as systemd would."""
        await until(self._found_active, 120, "a collector active")
        if not self.standby.process.running:
            self.unasked.append(f"collector {self.standby.name} exited, its lease lost")
            await in_thread(lambda: self.standby.process.start(timeout_s=60))
        await until(self.standby.standby, 60, "the other collector a standby")

    async def kill_every_node_in_turn(self) -> None:
        for index, node in enumerate(self.cluster.nodes):

            async def back(index: int = index) -> None:
                await until(self._found_active, 120, "a collector active on the other nodes")
                await in_thread(lambda: self.cluster.restart(index))  # until it serves MQTT

            def kill(index: int = index) -> None:
                self.cluster.kill(index)

            await self._failover(f"NATS {node.name}", kill, back)

    async def _standby_took_over(self) -> None:
        """The standby active; the killed collector started again, as the new standby."""
        await until(self.standby.active, 120, "the standby to take over")
        self.active, self.standby = self.standby, self.active
        await in_thread(lambda: self.standby.process.start(timeout_s=60))

    async def kill_the_active_collector(self) -> None:
        await self._failover("the active collector", self.active.kill, self._standby_took_over)

    async def kill_a_node_and_the_active_collector(self) -> None:
        """The node the active collector's events connection is on, and that collector."""
        victim = await asyncio.to_thread(self.active.events_node, self.cluster)

        def kill() -> None:
            self.cluster.kill(victim)
            self.active.kill()

        async def back() -> None:
            await self._standby_took_over()
            await in_thread(lambda: self.cluster.restart(victim))

        name = self.cluster.nodes[victim].name
        await self._failover(f"NATS {name} and the active collector", kill, back)

    def report(self, texts: dict[tuple[str, str], list[float]], stored_once: int) -> str:
        """The door -> SMS delay of every opening (to the later of its two texts), the worst
        of those under way during each failover."""
        delays = [
            (o, max(texts[(o.cabinet, to)][0] for to in RECIPIENTS)) for o in self.openings.done
        ]
        lines = [f"\n{len(delays)} openings, {stored_once} messages stored once each",
                 f"failed over unasked: {'; '.join(self.unasked) or 'nothing'}"]  # fmt: skip
        worst_of_all = 0.0
        for what, killed_at, recovered_at in self.failovers:
            during = [(o, sms) for o, sms in delays if o.at <= recovered_at and sms >= killed_at]
            line = f"{what}: recovered in {recovered_at - killed_at:.1f} s; {len(during)} openings"
            if during:  # the worst, and how much of it the cabinet's way to a node took
                opening, sms = max(during, key=lambda pair: pair[1] - pair[0].at)
                worst_of_all = max(worst_of_all, sms - opening.at)
                acked = self.fleet.opening_acked[opening.cabinet] - opening.at
                line += (f" under way, worst door -> SMS {sms - opening.at:.1f} s "
                         f"({opening.cabinet}: door -> PUBACK {acked:.1f} s)")  # fmt: skip
            lines.append(line)
        steady = [sms - o.at for o, sms in delays
                  if not any(o.at <= f.recovered_at and sms >= f.killed_at
                             for f in self.failovers)]  # fmt: skip
        lines.append(f"worst door -> SMS: {worst_of_all:.1f} s during a failover, "
                     f"{max(steady, default=0.0):.1f} s otherwise")  # fmt: skip
        return "\n".join(lines)


async def test_the_fleet_survives_every_node_and_the_active_collector_killed_in_turn(
    cluster: NatsCluster, services: LocalServices, postgres: PostgresServer, pg_url: str,
    twilio: FakeTwilio, tmp_path: Path,
) -> None:  # fmt: skip
    one, other = (
        HaCollector(name, tmp_path / name, cluster, services, pg_url, postgres.password, twilio)
        for name in ("one", "other")
    )  # fmt: skip
    fleet = Fleet(cluster, tmp_path)
    proof = Proof(cluster, (one, other), fleet)
    try:
        await proof.start(twilio)
        await proof.kill_every_node_in_turn()
        await proof.kill_the_active_collector()
        await proof.kill_a_node_and_the_active_collector()
        await proof.openings.stop()

        expected = {(o.cabinet, to) for o in proof.openings.done for to in RECIPIENTS}
        await until(lambda: expected <= set(opened_texts(twilio)), 120,
                    "every opening texted to each recipient")  # fmt: skip
        await until(fleet.drained, 120, "every cabinet's outbox sent")
        acknowledged = set(fleet.acknowledged)
        influx = services.influxdb.url
        await until(lambda: acknowledged <= set(stored(influx)), 120,
                    "every acknowledged message stored")  # fmt: skip
        found = stored(influx)
        twice = {key: n for key, n in found.items() if n > 1}
        assert not twice, f"stored more than once: {sorted(twice)[:20]}"
        assert set(found) <= fleet.attempted, "stored what no cabinet sent"
        texts = opened_texts(twilio)
        assert set(texts) == expected, f"texted for no opening: {sorted(set(texts) - expected)}"
        again = {key: len(at) for key, at in texts.items() if len(at) > 1}
        assert not again, f"an opening texted more than once: {again}"
        # none of the openings' texts can still go out: each one's outcome is final, `sent`
        with postgres.connect(pg_url.rpartition("/")[2]) as db:
            rows = db.execute("SELECT status, count(*) FROM notifications "
                              "WHERE key LIKE '%:opened:%' GROUP BY status").fetchall()  # fmt: skip
        states = {str(status): count for status, count in rows}
        assert states == {"sent": len(expected)}, states
        rebooted = [c.cabinet_id for c in fleet.cabinets.values() if c.boots != 1]
        assert not rebooted, f"cabinets reset (see fleet.log), their sends unrecorded: {rebooted}"
        # every node the active collector came to held its persistent session
        assert await asyncio.to_thread(proof.active.metric, "mqtt_sessions_lost_total") == 0
        print(proof.report(texts, len(found)))
    finally:
        await proof.openings.stop()
        await fleet.stop()
        for collector in (one, other):
            collector.process.stop()
