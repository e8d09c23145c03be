"""`aedfleet deploy --ha --node ...`: the broker as a NATS JetStream cluster (docs/ha.md)
instead of the one Mosquitto. For each node, a folder laid out as that node's file system: its
configuration (MQTT over TLS, routes over mutual TLS, every MQTT stream on three nodes, the
fleet's accounts with the same least privilege as Mosquitto's ACL, bcrypt hashes only), its
certificate from the cluster's own CA, a hardened systemd unit and its system user.

The CA's key stays in `cluster-ca/` of the deployment folder, on the machine that ran deploy:
no node holds it. Passwords are kept across runs, as the single-broker deployment keeps them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final, NamedTuple

import msgspec

from aedfleet.broker.accounts import COLLECTOR_USER, OPERATOR_USER, collector_accounts
from aedfleet.broker.config import with_passwords
from aedfleet.broker.errors import BrokerConfigError
from aedfleet.broker.files import private_folder, write_private
from aedfleet.broker.nats import NodeAddress, NodeTls, hashed, node_config, users
from aedfleet.broker.tls import ensure_ca, ensure_tls
from aedfleet.deploy.layout import NATS_STATE, NATS_UNIT, NATS_USER, NodeLayout
from aedfleet.deploy.units import nats_unit

_NAME: Final = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")


class ClusterNode(NamedTuple):
    name: str
    host: str  # the address the other nodes, the cabinets and the collectors reach it at


def parse_node(spec: str) -> ClusterNode:
    """`n1=10.0.0.1` → the node's name and address."""
    name, sep, host = spec.partition("=")
    if not sep or not _NAME.match(name) or not host or any(c in host for c in " /:@"):
        raise BrokerConfigError(f"--node {spec!r}: NAME=HOST, e.g. n1=10.0.0.1")
    return ClusterNode(name, host)


class ClusterOptions(msgspec.Struct, frozen=True, kw_only=True):
    nodes: tuple[ClusterNode, ...]
    mqtt_port: int = 8883  # MQTT over TLS: cabinets and collectors
    route_port: int = 6222  # the nodes' routes to each other, mutual TLS
    client_port: int = 4222  # NATS's own protocol: no account may use it (MQTT only)
    monitor_port: int = 8222  # /healthz and /jsz, on the node's address: firewall it
    nats_server: Path = Path("/usr/local/bin/nats-server")


def check_nodes(nodes: Sequence[ClusterNode]) -> None:
    """Three or five nodes (JetStream needs a majority: an even count adds nothing), each with
    its own name and address."""
    if len(nodes) not in (3, 5):
        raise BrokerConfigError(f"a cluster has 3 or 5 nodes (--node), not {len(nodes)}")
    if len({n.name for n in nodes}) < len(nodes) or len({n.host for n in nodes}) < len(nodes):
        raise BrokerConfigError("every --node needs its own name and its own address")


def broker_urls(options: ClusterOptions) -> list[str]:
    """What the collector's `[mqtt] urls` lists: every node, over TLS."""
    return [f"mqtts://{node.host}:{options.mqtt_port}" for node in options.nodes]


def write_cluster(
    out: Path,
    cabinet_ids: Sequence[str],
    options: ClusterOptions,
    *,
    hostnames: Sequence[str],
    root: Path,
) -> tuple[dict[str, str], list[Path]]:
    """Every node's folder under `out/nodes/`; returns the credentials (kept in
    `out/cluster/credentials.json`, for the collectors' environment and `firmware config`) and
    the files written."""
    check_nodes(options.nodes)
    kept = out / "cluster" / "credentials.json"
    private_folder(kept.parent)
    before: dict[str, str] = json.loads(kept.read_text()) if kept.exists() else {}
    credentials = with_passwords(before, [COLLECTOR_USER], [OPERATOR_USER, *cabinet_ids])
    write_private(kept, json.dumps(credentials, indent=1, sort_keys=True).encode())
    account_users = hashed(users(credentials, list(cabinet_ids), [COLLECTOR_USER]))
    ca = ensure_ca(out / "cluster-ca")
    addresses = [
        NodeAddress(node.name, node.host, options.client_port, options.route_port,
                    options.mqtt_port, options.monitor_port)
        for node in options.nodes
    ]  # fmt: skip
    server = NodeLayout(root)
    written = [kept]
    for node, address in zip(options.nodes, addresses, strict=True):
        here = NodeLayout(out / "nodes" / node.name)
        private_folder(here.nats)
        tls = ensure_tls(here.nats, [node.host, *hostnames], ca_cert=ca.ca_cert, ca_key=ca.ca_key,
                         peer=True)  # fmt: skip
        on_node = NodeTls(*(str(server.nats / path.name) for path in
                            (tls.ca_cert, tls.server_cert, tls.server_key)))  # fmt: skip
        peers = [a for a in addresses if a is not address]
        text = node_config(address, peers, str(server.state), account_users, tls=on_node)
        write_private(here.conf, text.encode())
        here.units.mkdir(parents=True, exist_ok=True)
        (here.units / NATS_UNIT).write_text(nats_unit(options.nats_server, server))
        here.sysusers.parent.mkdir(parents=True, exist_ok=True)
        here.sysusers.write_text(
            "# written by aedfleet deploy: the NATS node's own user, no login\n"
            f'u {NATS_USER} - "aedfleet NATS node" /var/lib/{NATS_STATE}\n'
        )
        written += [here.conf, tls.ca_cert, tls.server_cert, tls.server_key,
                    here.units / NATS_UNIT, here.sysusers]  # fmt: skip
    return credentials, written


def collector_password(credentials: Mapping[str, str]) -> str:
    return credentials[collector_accounts(COLLECTOR_USER)[0]]
