"""`aedfleet backup` while a real collector handles a stream of door events, and `aedfleet
restore` into a fresh state folder: the restored alerts, cabinet states and notification
outbox are those of the live store."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from aedfleet.alerts.store import AlertStore
from aedfleet.cli import main
from aedfleet.collector.clock import wall_ms
from aedfleet.collector.topics import topic_for
from aedfleet.services import LocalServices
from tests.support.fake_providers import FakeTwilio, twilio_collector_sections
from tests.support.harness import CollectorProcess, cabinet_ids, operator_client, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]
IDS = cabinet_ids(4)
FAST = {"tick_ms": 200, "repeat_critical_s": 1, "opened_clear_s": 1, "readiness_every_s": 1}


def state_of(path: Path) -> dict[str, list[Any]]:
    """Everything the store holds, as committed."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return {
            table: sorted(db.execute(f"SELECT * FROM {table}").fetchall())
            for table in ("alerts", "cabinets", "silences", "notifications")
        }


@contextlib.contextmanager
def door_events(services: LocalServices) -> Iterator[list[int]]:
    """Doors of every cabinet opening and shutting until the block ends; yields the count."""
    client = operator_client(services, f"doors-{time.time_ns()}")
    client.loop_start()
    sent = [0]
    stop = threading.Event()

    def stream() -> None:
        seq = 0
        while not stop.is_set():
            seq += 1
            for cabinet in IDS:
                event = "door_open" if seq % 2 else "door_close"
                extra = ',"open_s":1' if event == "door_close" else ""
                body = (f'{{"v":1,"id":"{cabinet}","ev":"{event}","seq":{seq},'
                        f'"ts":{wall_ms()},"sync":true{extra}}}')  # fmt: skip
                client.publish(topic_for(cabinet, "event"), body, qos=1).wait_for_publish(10)
                sent[0] += 1
            stop.wait(0.05)  # the pace of the stream, not a wait for an outcome

    thread = threading.Thread(target=stream, daemon=True)
    thread.start()
    try:
        yield sent
    finally:
        stop.set()
        thread.join(20)
        client.disconnect()
        client.loop_stop()


def fresh_config(folder: Path) -> Path:
    """Where a restore puts things: a stopped collector's state and spool folders."""
    config = folder / "collector.toml"
    folder.mkdir(parents=True, exist_ok=True)
    state, spool = folder / "state", folder / "spool"
    config.write_text(f'[alerts]\nstate_dir = "{state}"\n[spool]\ndir = "{spool}"\n'
                      '[http]\nlisten = ""\n')  # fmt: skip
    return config


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_backup_while_events_stream_restores_the_same_alerts_and_outbox(
    services: LocalServices, tmp_path: Path
) -> None:
    with FakeTwilio().running() as twilio:
        collector = CollectorProcess(
            services, tmp_path / "live", database="backup_e2e", ids=IDS,
            alerts=FAST, **twilio_collector_sections(twilio.url, ["+8613700000001"]),
        )  # fmt: skip
        live_config = tmp_path / "live" / "collector.toml"
        live_store = tmp_path / "live" / "state" / "alerts.sqlite3"
        collector.process.start()
        try:
            with door_events(services) as sent:
                wait_for(lambda: len(twilio.delivered()) >= 4, 30, "SMS about the doors")
                # 1. the collector running at full tilt
                running = tmp_path / "running.tar.gz"
                run("backup", "--config", str(live_config), "--out", str(running))
                # 2. the collector frozen between two steps, the stream going on at the broker:
                # the live store's committed state is fixed, so the copy must equal it
                collector.process.signal(signal.SIGSTOP)
                try:
                    frozen = tmp_path / "frozen.tar.gz"
                    run("backup", "--config", str(live_config), "--out", str(frozen))
                    live_then = state_of(live_store)
                finally:
                    collector.process.signal(signal.SIGCONT)
                wait_for(lambda: sent[0] >= 8 * len(IDS), 30, "events after the backups")
            refused = CliRunner().invoke(main, ["restore", "--config", str(live_config),
                                                str(frozen)])  # fmt: skip
            assert refused.exit_code == 1 and "stop it first" in refused.output
        finally:
            collector.process.stop()
    assert live_then["alerts"] and live_then["notifications"]  # something worth comparing
    restored = fresh_config(tmp_path / "restored")
    output = run("restore", "--config", str(restored), str(frozen))
    assert "migrates the store at start" in output
    restored_store = tmp_path / "restored" / "state" / "alerts.sqlite3"
    assert state_of(restored_store) == live_then
    again = CliRunner().invoke(main, ["restore", "--config", str(restored), str(frozen)])
    assert again.exit_code == 1 and "--replace" in again.output

    # the copy taken at full speed is whole, and a state the live store went through
    other = fresh_config(tmp_path / "restored-running")
    run("restore", "--config", str(other), str(running))
    copy = tmp_path / "restored-running" / "state" / "alerts.sqlite3"
    with contextlib.closing(sqlite3.connect(copy)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    keys = {row[0] for row in state_of(copy)["notifications"]}
    assert keys and keys <= {row[0] for row in state_of(live_store)["notifications"]}
    AlertStore(copy).close()  # and the collector opens it
