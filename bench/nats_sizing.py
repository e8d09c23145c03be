"""Sizing a NATS node (docs/ha.md): what each node of the 3-node cluster stores and holds in
memory per QoS 1 message queued for an absent collector, and how fast one client's messages
are PUBACKed (after three copies), against the same node idle in the same run.

Run: .venv/bin/python -m bench.nats_sizing [--messages 50000]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from aedfleet.broker.accounts import COLLECTOR_USER, collector_accounts
from aedfleet.collector.topics import topic_for
from tests.integration.test_nats_cluster import client
from tests.support.harness import cabinet_ids, telemetry_payload, wait_for
from tests.support.nats_cluster import FLEET_WRITERS, NatsCluster, granted, running_cluster

START_MS = 1_790_000_000_000


def node_figures(cluster: NatsCluster) -> list[tuple[int, int, int]]:
    """Per node: resident memory, JetStream storage and the store folder's size, in bytes."""
    out = []
    for node in cluster.nodes:
        base = f"http://{node.host}:{node.monitor_port}"
        varz, jsz = httpx.get(f"{base}/varz").json(), httpx.get(f"{base}/jsz").json()
        folder = cluster.workdir / node.name / "store"
        du = subprocess.run(["du", "-sb", str(folder)], capture_output=True, text=True, check=True)
        out.append((int(varz["mem"]), int(jsz.get("storage", 0)), int(du.stdout.split()[0])))
    return out


def stored_messages(cluster: NatsCluster) -> list[int]:
    nodes = cluster.nodes
    return [int(httpx.get(f"http://{n.host}:{n.monitor_port}/jsz").json().get("messages", 0))
            for n in nodes]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=50_000)
    n = parser.parse_args().messages
    with tempfile.TemporaryDirectory() as tmp, running_cluster(Path(tmp) / "c") as cluster:
        reader = client(cluster, collector_accounts(COLLECTOR_USER)[0], node=0)
        assert granted(reader, "aed/v1/+/telemetry")  # its session queues from now on
        reader.disconnect()
        reader.loop_stop()
        idle, before = node_figures(cluster), stored_messages(cluster)
        writer = client(cluster, FLEET_WRITERS[0], node=1)
        ids = cabinet_ids(1000)
        started = time.perf_counter()
        pending = []
        for seq in range(n):
            cabinet = ids[seq % len(ids)]
            payload = telemetry_payload(cabinet, seq, START_MS + seq)
            pending.append(writer.publish(topic_for(cabinet, "telemetry"), payload, qos=1))
            if len(pending) == 500:  # paho's in-flight window
                for info in pending:
                    info.wait_for_publish(60)
                pending = []
        for info in pending:
            info.wait_for_publish(60)
        rate = n / (time.perf_counter() - started)
        writer.disconnect()
        writer.loop_stop()

        # every node has its copy of every message before it is measured
        def copied() -> bool:
            counts = zip(stored_messages(cluster), before, strict=True)
            return all(after - earlier >= n for after, earlier in counts)

        wait_for(copied, 60, "three copies")
        held = node_figures(cluster)
    size = len(telemetry_payload(ids[0], 1, START_MS))
    print(f"{n} QoS 1 messages of {size} bytes queued for an absent collector's session")
    print(f"  PUBACKed (three copies each): {rate:,.0f} msgs/s from one client")
    for index, ((mem0, js0, du0), (mem1, js1, du1)) in enumerate(zip(idle, held, strict=True)):
        print(f"  node n{index + 1}: JetStream {(js1 - js0) / n:,.0f} B/msg, on disk "
              f"{(du1 - du0) / n:,.0f} B/msg; memory {mem0 / 2**20:.0f} MiB idle, "
              f"{mem1 / 2**20:.0f} MiB holding them ({mem1 / max(mem0, 1):.1f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
