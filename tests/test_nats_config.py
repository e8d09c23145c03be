"""The NATS node configuration (aedfleet/broker/nats.py): Mosquitto's ACL as NATS users, and
one node of a three-node cluster with MQTT streams replicated on every node."""

from __future__ import annotations

import json

from aedfleet.broker.accounts import OPERATOR_USER
from aedfleet.broker.nats import ACCOUNT, NodeAddress, node_config, users

CREDENTIALS = {
    name: f"pw-{name}"
    for name in (
        "aedfleet-collector",
        "aedfleet-collector-events",
        OPERATOR_USER,
        "sim",
        "bz-bc-001",
    )
}


def permissions() -> dict[str, dict[str, dict[str, list[str]]]]:
    made = users(CREDENTIALS, ["bz-bc-001"], ["aedfleet-collector"], ["sim"])
    assert all(user["allowed_connection_types"] == ["MQTT"] for user in made)
    return {user["user"]: user["permissions"] for user in made}


def test_a_cabinet_writes_its_own_subtree_and_reads_its_own_config() -> None:
    cabinet = permissions()["bz-bc-001"]
    assert cabinet["publish"] == {
        "allow": ["aed.v1.bz-bc-001.event", "aed.v1.bz-bc-001.telemetry", "aed.v1.bz-bc-001.status"]
    }
    assert cabinet["subscribe"] == {"allow": ["aed.v1.bz-bc-001.config"]}


def test_both_collector_accounts_only_read_what_cabinets_send() -> None:
    for account in ("aedfleet-collector", "aedfleet-collector-events"):
        collector = permissions()[account]
        assert collector["publish"] == {"deny": [">"]}
        assert collector["subscribe"] == {
            "allow": ["aed.v1.*.event", "aed.v1.*.telemetry", "aed.v1.*.status"]
        }


def test_the_operator_reads_all_and_writes_configs_only() -> None:
    operator = permissions()[OPERATOR_USER]
    assert operator["publish"] == {"allow": ["aed.v1.*.config"]}
    # MQTT's aed/v1/# is the two NATS subjects aed.v1 and aed.v1.>
    assert operator["subscribe"] == {"allow": ["aed.v1", "aed.v1.>"]}


def test_a_node_routes_to_its_peers_and_replicates_mqtt_streams_three_times() -> None:
    nodes = [NodeAddress(f"n{i}", "127.0.0.1", 4000 + i, 5000 + i, 6000 + i, 7000 + i)
             for i in range(3)]  # fmt: skip
    made = users(CREDENTIALS, ["bz-bc-001"], ["aedfleet-collector"])
    config = json.loads(node_config(nodes[0], nodes[1:], "/var/lib/nats", made))
    assert config["server_name"] == "n0"
    assert config["cluster"]["routes"] == ["nats-route://127.0.0.1:5001",
                                           "nats-route://127.0.0.1:5002"]  # fmt: skip
    assert config["mqtt"] == {"listen": "127.0.0.1:6000", "stream_replicas": 3, "ack_wait": "30s"}
    assert config["jetstream"]["store_dir"] == "/var/lib/nats"
    assert config["accounts"][ACCOUNT]["users"] == made
