"""The collector's two broker connections: telemetry on one, events and status on the other,
so a door opening never queues behind telemetry. Each acknowledges only its own messages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aedfleet.collector.config import Identity, MqttConfig
from aedfleet.collector.mqtt import (
    EVENT_SOURCE,
    TELEMETRY_SOURCE,
    AckToken,
    MessageHandler,
    MqttSource,
)
from aedfleet.collector.topics import subscription


class Sources:
    def __init__(
        self, mqtt: MqttConfig, handler: MessageHandler, room: Callable[[], Awaitable[None]]
    ) -> None:
        """`handler` gets every message; `room` is awaited between reads (see MqttSource)."""

        def source(name: str, who: Identity, kinds: tuple[str, ...]) -> MqttSource:
            return MqttSource(
                name=name,
                urls=mqtt.brokers(),
                client_id=who.client_id,
                subscriptions=[mqtt.shared_group + subscription(k, mqtt.prefix) for k in kinds],
                handler=handler,
                room=room,
                username=who.username,
                password=mqtt.password,
                ca_file=mqtt.ca_file,
                keepalive_s=mqtt.keepalive_s,
                connect_timeout_s=mqtt.connect_timeout_s,
            )

        telemetry, events = mqtt.identities()
        self.telemetry = source(TELEMETRY_SOURCE, telemetry, ("telemetry",))
        self.events = source(EVENT_SOURCE, events, ("event", "status"))
        self.both = (self.telemetry, self.events)

    def ack(self, tokens: list[AckToken]) -> None:
        # each source picks its own tokens
        self.telemetry.ack(tokens)
        self.events.ack(tokens)

    async def subscribed(self) -> None:
        """Wait until both connections are up and subscribed."""
        await self.telemetry.subscribed.wait()
        await self.events.subscribed.wait()

    def up(self) -> bool:
        return self.telemetry.connected.is_set() and self.events.connected.is_set()

    def receiving(self) -> bool:
        """Both connections subscribed: from now on the broker queues what cabinets send."""
        return self.telemetry.subscribed.is_set() and self.events.subscribed.is_set()

    def connected(self) -> dict[str, bool]:
        return {source.name: source.connected.is_set() for source in self.both}

    def brokers(self) -> dict[str, str]:
        """The broker (host:port) each connection is on, or is trying next."""
        return {source.name: f"{source.address.host}:{source.address.port}" for source in self.both}

    async def stop(self) -> None:
        await self.telemetry.stop()
        await self.events.stop()
