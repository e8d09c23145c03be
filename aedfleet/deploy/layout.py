"""Where a deployment lives on the server: the paths the units, the broker configuration and
`collector.toml` refer to. `root` is `/` on the server; a test stages it under a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Final

COLLECTOR_UNIT: Final = "aedfleet-collector.service"
MOSQUITTO_UNIT: Final = "aedfleet-mosquitto.service"
# systemd's StateDirectory= names, under /var/lib
COLLECTOR_STATE: Final = "aedfleet"
MOSQUITTO_STATE: Final = "aedfleet-mosquitto"
# a NATS cluster node's (deploy --ha, docs/ha.md)
NATS_UNIT: Final = "aedfleet-nats.service"
NATS_USER: Final = "aedfleet-nats"
NATS_STATE: Final = "aedfleet-nats"


class Layout:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.etc = root / "etc" / "aedfleet"
        self.broker = self.etc / "broker"
        self.cluster_ca = self.etc / "cluster-ca.crt"  # deploy --ha: the broker nodes' CA
        self.collector_toml = self.etc / "collector.toml"
        self.environment = self.etc / "aedfleet.env"
        self.inventory = self.etc / "inventory.csv"
        self.units = root / "etc" / "systemd" / "system"
        self.grafana_dropin = self.units / "grafana-server.service.d" / "aedfleet.conf"
        self.grafana_environment = self.etc / "grafana.env"
        self.sysusers = root / "etc" / "sysusers.d" / "aedfleet.conf"
        self.state = root / "var" / "lib" / COLLECTOR_STATE
        self.mosquitto_state = root / "var" / "lib" / MOSQUITTO_STATE


class NodeLayout:
    """A NATS cluster node's file system (`root` is `/` on the node)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.nats = root / "etc" / "aedfleet" / "nats"
        self.conf = self.nats / "nats.conf"
        self.units = root / "etc" / "systemd" / "system"
        self.sysusers = root / "etc" / "sysusers.d" / "aedfleet-nats.conf"
        self.state = root / "var" / "lib" / NATS_STATE
