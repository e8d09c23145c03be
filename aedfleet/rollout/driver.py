"""The rollout's shell: it publishes the release's chunks (retained), listens to what the
fleet says, offers the release to each cabinet as the plan decides (its retained `config`
with the `fw` offer added), takes the offer back from a halted rollout's cabinets and saves
the state after every step. The MQTT client is the firmware's own link (firmware/link.py,
as the simulator runs it), with the operator's account, which may read everything and write
configs and releases."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aedfleet.firmware_release import Release
from aedfleet.rollout.plan import DONE, HALTED, Rollout
from aedfleet.rollout.store import RolloutStore

KINDS = ("status", "telemetry", "event", "config")


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    username: str
    password: str
    prefix: str = "aed"
    tls: Any = None  # an SSLContext for mqtts://


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class Driver:
    def __init__(
        self,
        rollout: Rollout,
        release: Release,
        store: RolloutStore,
        broker: Broker,
        log: Callable[[str], None] = print,
        now_ms: Callable[[], int] = wall_ms,
    ) -> None:
        from aedfleet.simulator import firmware  # noqa: PLC0415 - the firmware's own link

        self.rollout = rollout
        self.release = release
        self.store = store
        self.broker = broker
        self.log = log
        self.now_ms = now_ms
        self.configs: dict[str, dict[str, Any]] = {}  # each cabinet's retained config
        self.link = firmware.link.Link(
            broker.host, broker.port, broker.username, 30, 10_000,
            lambda: self.now_ms() % (1 << 30), self._log_link, broker.username,
            broker.password, self._on_message, None, broker.tls,
        )  # fmt: skip

    def _log_link(self, line: str) -> None:
        self.log(line)

    def _topic(self, cabinet: str, kind: str) -> str:
        return f"{self.broker.prefix}/v1/{cabinet}/{kind}"

    def _on_message(self, topic: str, payload: bytes) -> None:
        parts = topic.split("/")
        if len(parts) != 4 or parts[3] not in KINDS or not payload:
            return
        try:
            message = json.loads(payload)
        except ValueError:
            return  # the collector dead-letters it; the rollout only needs what is valid
        if not isinstance(message, dict) or message.get("id") != parts[2]:
            return
        if parts[3] == "config":
            self.configs[parts[2]] = message
        else:
            self.rollout.observe(parts[2], parts[3], message, self.now_ms())

    async def _publish(self, topic: str, payload: bytes) -> None:
        while not await self.link.publish(topic, payload, qos=1, retain=True):
            await self._connect()

    async def _connect(self) -> None:
        will = (f"{self.broker.prefix}/v1/fw/rollout", b"")
        while not await self.link.connect(*will):
            await asyncio.sleep(2)
        for kind in KINDS:
            await self.link.subscribe(f"{self.broker.prefix}/v1/+/{kind}")

    async def _offer(self, cabinet: str, offer: dict[str, object] | None) -> None:
        config = dict(self.configs.get(cabinet) or {})
        if not config:
            config = {"v": 1, "id": cabinet, "rev": 1, "ts": self.now_ms(), "tele_s": 300}
        config.pop("fw", None)
        if offer is not None:
            config["fw"] = offer
        self.configs[cabinet] = config
        await self._publish(self._topic(cabinet, "config"), json.dumps(config).encode())

    async def run(self, tick_s: float = 5.0, settle_s: float = 2.0) -> Rollout:
        """Until the rollout is done or halted. The retained statuses and configs arrive
        in the first `settle_s`, before anything is offered."""
        await self._connect()
        for topic, chunk in self.release.chunks(self.broker.prefix):
            await self._publish(topic, chunk)
        await asyncio.sleep(settle_s)
        rollout = self.rollout
        try:
            while True:
                wave, phase = rollout.wave, rollout.phase
                offered = rollout.step(self.now_ms())
                for cabinet in offered:
                    await self._offer(cabinet, self.release.offer())
                if offered:
                    self.log(f"wave {rollout.wave + 1}: offered to {', '.join(offered)}")
                if rollout.phase == HALTED:
                    for cabinet in rollout.withdrawn():
                        await self._offer(cabinet, None)
                    self.log(f"halted: {rollout.reason}")
                elif (wave, phase) != (rollout.wave, rollout.phase):
                    self.log(f"wave {rollout.wave + 1}: {rollout.phase}")
                self.store.save(rollout, self.now_ms())
                if rollout.phase in (DONE, HALTED):
                    return rollout
                await asyncio.sleep(tick_s)
        finally:
            await self.link.close(clean=True)
