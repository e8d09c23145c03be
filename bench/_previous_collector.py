"""The collector as it was at an earlier commit, run beside today's in the same benchmark run.

A figure measured on another day says little on these shared cores: one drain's CPU swings by
a third between runs. So "no slower than before" is measured as a ratio against the earlier
collector itself, draining the same kind of backlog from the same broker into the same InfluxDB,
in turns with today's.

Its tree comes from `git archive` of this repository, so a clone without that commit (a
shallow one) cannot run it; the process uses this checkout's `.venv`, with the earlier tree
first on its path and this checkout kept off it (PYTHONSAFEPATH).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Final, Literal

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from aedfleet.broker.accounts import COLLECTOR_USER
from aedfleet.collector.topics import subscription
from aedfleet.services import LOOPBACK, ManagedProcess, Mosquitto, free_port
from tests.support.harness import collector_toml, inventory_file

# the commit before the ingest issue's first change: the collector whose figure that issue quotes
PREVIOUS_COLLECTOR: Final = "af4bd0065e24e5ffc0f1ac1b427a63a3f39f4f5c"
ROOT: Final = Path(__file__).resolve().parent.parent
# its two connections and what each subscribes to (its service.py and mqtt.py at that commit)
SESSIONS: Final = (("", ("telemetry",)), ("-events", ("event", "status")))


def checkout(revision: str, into: Path) -> Path | None:
    """The tree of `revision` written to `into`, or None when this clone lacks the commit."""
    known = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{revision}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    if known.returncode != 0:
        return None
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision],
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def add_listener(mosquitto: Mosquitto) -> int:
    """A plain loopback listener that keeps the client id a client gives: the earlier collector's
    two connections share one account, which the broker's own listeners take as the client id
    (so each would push the other off). Call before the broker starts; listeners are not
    reloaded, so an account added later (which rewrites the file) leaves it open."""
    port = free_port()
    with mosquitto.config_path.open("a") as conf:
        conf.write(f"\n# the benchmark's earlier collector only\nlistener {port} {LOOPBACK}\n")
    return port


class PreviousCollector:
    """`aedfleet collect` of the earlier tree, with the configuration that tree reads."""

    def __init__(
        self,
        tree: Path,
        mosquitto: Mosquitto,
        port: int,
        influx_url: str,
        workdir: Path,
        *,
        database: str,
        ids: list[str],
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.ready_when: Literal["subscribed", "answering"] = "subscribed"
        self.database = database
        self._mosquitto, self._port = mosquitto, port
        self._client_id = f"previous-{database}"
        self._http_port = free_port()
        sections = {
            "mqtt": {
                "url": f"mqtt://{LOOPBACK}:{port}",
                "client_id": self._client_id,
                "username": COLLECTOR_USER,
            },
            "influx": {"url": influx_url, "database": database},
            "spool": {"dir": str(workdir / "spool")},
            "fleet": {"inventory": str(inventory_file(workdir / "inventory.csv", ids))},
            "http": {"listen": f"{LOOPBACK}:{self._http_port}"},
            "alerts": {"state_dir": str(workdir / "state")},
        }
        config = collector_toml(workdir / "collector.toml", sections)
        self.process = ManagedProcess(
            "previous collector",
            [sys.executable, "-m", "aedfleet", "collect", "--config", str(config)],
            workdir / "collector.log",
            self._answering,
            env={
                "AEDFLEET_MQTT_PASSWORD": mosquitto.password(COLLECTOR_USER),
                "PYTHONPATH": str(tree),
                "PYTHONSAFEPATH": "1",
            },
        )

    def register_sessions(self) -> None:
        """Its persistent sessions, subscribed before it first starts: it reports itself
        connected before its SUBACK, and what is published in between would not be queued."""
        for suffix, kinds in SESSIONS:
            subscribed = threading.Event()
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id=self._client_id + suffix, clean_session=False
            )
            client.username_pw_set(COLLECTOR_USER, self._mosquitto.password(COLLECTOR_USER))
            client.on_subscribe = lambda *_, done=subscribed: done.set()
            client.connect(LOOPBACK, self._port)
            client.loop_start()
            client.subscribe([(subscription(kind), 1) for kind in kinds])
            try:
                if not subscribed.wait(30):
                    raise TimeoutError("the earlier collector's session was not subscribed")
            finally:
                client.disconnect()
                client.loop_stop()

    def _answering(self) -> bool:
        try:
            health = httpx.get(f"http://{LOOPBACK}:{self._http_port}/healthz", timeout=2).json()
        except (httpx.HTTPError, ValueError):
            return False
        return self.ready_when == "answering" or bool(health["mqtt_connected"])

    def metrics(self) -> str:
        return httpx.get(f"http://{LOOPBACK}:{self._http_port}/metrics", timeout=2).text
