"""The alert store's cost per operation on PostgreSQL (high availability, docs/ha.md) against
SQLite (the default), in the same run: what the collector does per event (save one cabinet's
state and alerts), per notification (queue it; claim it and record its outcome), and per
standby's or holder's lease renewal.

PostgreSQL is the tests' server (tests/support/postgres.py): on loopback, with fsync off, so
this measures the round trips and the SQL, not a disk; SQLite runs as the collector runs it
(WAL, synchronous=NORMAL).

Run from the repository root: .venv/bin/python -m bench.alert_store [--operations 2000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from aedfleet.alerts.store import AlertStore, open_store
from aedfleet.collector.config import AlertsConfig
from aedfleet.ha.lease import Lease
from aedfleet.notify.messages import Notification
from aedfleet.sqldb import connect_postgresql
from tests.alerts.test_redelivery import fresh, opening_and_resolution
from tests.support.postgres import running_postgres


def _note(n: int) -> Notification:
    return Notification(key=f"k{n}", recipient="+8613700000001", text="door opened",
                        cabinet_id="bz-bc-001", rule="opened", kind="firing",
                        severity="critical")  # fmt: skip


def _per_op_us(operations: int, operation: Callable[[int], object]) -> float:
    started = time.perf_counter()
    for n in range(operations):
        operation(n)
    return (time.perf_counter() - started) / operations * 1e6


def _measure(store: AlertStore, operations: int) -> dict[str, float]:
    engine = fresh()
    opening_and_resolution(engine)
    cabinets = set(engine.cabinets)
    sends = store.sends

    def claim_and_record(n: int) -> None:
        sends.claim(f"k{n}")
        sends.record(f"k{n}", status="sent", now_ms=n)

    return {
        "save one cabinet (an event)": _per_op_us(
            operations, lambda _: store.save(engine, cabinets)
        ),
        "queue a notification": _per_op_us(
            operations, lambda n: sends.enqueue(_note(n), "sms", not_before_ms=0, now_ms=n)
        ),
        "claim and record a send": _per_op_us(operations, claim_and_record),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=2000)
    operations = parser.parse_args().operations
    with (
        tempfile.TemporaryDirectory() as scratch,
        running_postgres() as server,
        server.database() as url,
    ):
        sqlite = open_store(AlertsConfig(state_dir=str(Path(scratch) / "state")))
        baseline = _measure(sqlite, operations)
        sqlite.close()
        postgresql = open_store(AlertsConfig(store=url, store_password=server.password))
        measured = _measure(postgresql, operations)
        postgresql.close()
        lease = Lease(lambda: connect_postgresql(url, server.password))
        renewal = _per_op_us(operations, lambda _: lease.attempt())
        lease.release()
    print(f"{'operation (us each)':<30}{'SQLite':>10}{'PostgreSQL':>12}{'postgresql / sqlite':>22}")
    for name, base in baseline.items():
        print(f"{name:<30}{base:>10.0f}{measured[name]:>12.0f}{measured[name] / base:>22.2f}")
    print(f"{'lease renewal':<30}{'':>10}{renewal:>12.0f}")


if __name__ == "__main__":
    main()
