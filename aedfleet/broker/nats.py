"""A NATS JetStream cluster as the fleet's MQTT broker (the high-availability mode, docs/ha.md):
one node's configuration, with the same accounts as Mosquitto's and the same least privilege.

NATS checks permissions on subjects, the MQTT topic with `/` turned into `.`: the cabinet
`bz-bc-001` may publish `aed.v1.bz-bc-001.event` (the topic `aed/v1/bz-bc-001/event`) and
nothing else of the fleet. Every user is in one account, so the collector's QoS 1 subscription
(a JetStream consumer of that account's MQTT stream) sees every cabinet's messages. The file
is JSON, which the NATS configuration format accepts as it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, NamedTuple

import bcrypt

from aedfleet.broker.accounts import OPERATOR_USER, collector_accounts
from aedfleet.collector.topics import DEFAULT_PREFIX, VERSION_SEGMENT

ACCOUNT: Final = "AEDFLEET"
CLUSTER_NAME: Final = "aedfleet"
STREAM_REPLICAS: Final = 3  # every MQTT stream (sessions, messages, retained) on all three
KINDS_SENT: Final = ("event", "telemetry", "status")  # what a cabinet sends
ACK_WAIT: Final = "30s"  # an unacknowledged QoS 1 message comes again, DUP set, after this
# Every password is random (accounts.new_password: 192 bits), so the hash's cost adds nothing
# against guessing; a low one keeps the logins cheap when a dead node's third of the fleet
# reconnects to the others at once (about 1 ms each at 4, 40 at 8, 350 at 10 on this machine)
BCRYPT_COST: Final = 4
TLS_TIMEOUT_S: Final = 5.0


class NodeTls(NamedTuple):
    """Where a node reads the fleet CA's certificate and its own key and certificate (issued
    for its routes too: tls.ensure_tls(peer=True))."""

    ca_cert: str
    server_cert: str
    server_key: str


class NodeAddress(NamedTuple):
    """One node's loopback (or LAN) ports: NATS clients, the cluster's routes, MQTT, HTTP
    monitoring (/healthz)."""

    name: str
    host: str
    client_port: int
    route_port: int
    mqtt_port: int
    monitor_port: int


def _subject_root(prefix: str) -> str:
    return f"{prefix}.{VERSION_SEGMENT}"


def _user(name: str, password: str, publish: list[str], subscribe: list[str]) -> dict[str, Any]:
    # an empty allow-list would allow everything: deny all instead
    def rule(subjects: list[str]) -> dict[str, list[str]]:
        return {"allow": subjects} if subjects else {"deny": [">"]}

    return {
        "user": name,
        "password": password,
        "permissions": {"publish": rule(publish), "subscribe": rule(subscribe)},
        "allowed_connection_types": ["MQTT"],
    }


def users(
    credentials: Mapping[str, str],
    cabinet_ids: Sequence[str],
    collectors: Sequence[str],
    fleet_writers: Sequence[str] = (),
    prefix: str = DEFAULT_PREFIX,
) -> list[dict[str, Any]]:
    """Mosquitto's ACL (accounts.acl_text) as NATS users: collectors read what cabinets send,
    the operator reads all and writes configs, a cabinet writes its own subtree and reads its
    own config; fleet writers (simulators, tests) read and write the whole fleet."""
    root = _subject_root(prefix)
    sent = [f"{root}.*.{kind}" for kind in KINDS_SENT]
    out = [
        _user(account, credentials[account], [], sent)
        for collector in collectors
        for account in collector_accounts(collector)
    ]
    # MQTT's `aed/v1/#` is two NATS subscriptions, `aed.v1` and `aed.v1.>`: both allowed
    everything = [root, f"{root}.>"]
    out.append(_user(OPERATOR_USER, credentials[OPERATOR_USER], [f"{root}.*.config"], everything))
    out += [_user(w, credentials[w], everything, everything) for w in fleet_writers]
    for cabinet in cabinet_ids:
        own = [f"{root}.{cabinet}.{kind}" for kind in KINDS_SENT]
        out.append(_user(cabinet, credentials[cabinet], own, [f"{root}.{cabinet}.config"]))
    return out


def hashed(account_users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same users with bcrypt hashes for passwords, which NATS checks as they are: a
    node's configuration then holds no password a cabinet could log in with."""
    cost = bcrypt.gensalt(BCRYPT_COST)
    return [
        {**user, "password": bcrypt.hashpw(user["password"].encode(), cost).decode()}
        for user in account_users
    ]


def node_config(
    node: NodeAddress,
    peers: Sequence[NodeAddress],
    store_dir: str,
    account_users: list[dict[str, Any]],
    *,
    ack_wait: str = ACK_WAIT,
    tls: NodeTls | None = None,
) -> str:
    """The configuration of `node` in a cluster with `peers` (the other nodes). With `tls`,
    MQTT clients get TLS and the routes mutual TLS: a node joins only with a certificate of
    the fleet's CA, and checks the peer's name against the route's address."""
    config: dict[str, Any] = {
        "server_name": node.name,
        "listen": f"{node.host}:{node.client_port}",
        "http": f"{node.host}:{node.monitor_port}",
        "jetstream": {
            "store_dir": store_dir,
            "max_memory_store": 64 << 20,
            "max_file_store": 4 << 30,
        },
        "cluster": {
            "name": CLUSTER_NAME,
            "listen": f"{node.host}:{node.route_port}",
            "routes": [f"nats-route://{p.host}:{p.route_port}" for p in peers],
        },
        "mqtt": {
            "listen": f"{node.host}:{node.mqtt_port}",
            "stream_replicas": STREAM_REPLICAS,
            "ack_wait": ack_wait,
        },
        "accounts": {ACCOUNT: {"jetstream": "enabled", "users": account_users}},
    }
    if tls is not None:
        files = {"cert_file": tls.server_cert, "key_file": tls.server_key, "ca_file": tls.ca_cert,
                 "timeout": TLS_TIMEOUT_S}  # fmt: skip
        config["mqtt"]["tls"] = files  # cabinets log in with passwords, no client certificate
        config["cluster"]["tls"] = {**files, "verify": True}
    return json.dumps(config, indent=1) + "\n"
