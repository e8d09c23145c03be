"""`aedfleet collect` with `[ha] lease = true`, two real processes on one PostgreSQL store and
one broker account (one persistent session): the second waits as a standby (/healthz 503,
"standby"); when the active one is killed it takes over after the lease lapses; and a
collector whose lease was taken exits non-zero at once."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from aedfleet.ha.runner import LEASE_LOST_EXIT
from aedfleet.services import LocalServices
from tests.support.harness import CollectorProcess, wait_for
from tests.support.postgres import PostgresServer

pytestmark = [pytest.mark.services, pytest.mark.slow]
HA = {"lease": True, "ttl_s": 3.0, "renew_every_s": 0.5, "margin_s": 1.0}


class HaCollector(CollectorProcess):
    """Started once it answers /healthz at all: as the active collector or a standby."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ready_when = "answering"

    def status(self) -> int:
        return httpx.get(f"http://127.0.0.1:{self.http_port}/healthz", timeout=2).status_code

    def active(self) -> bool:
        """Subscribed as the leader; the standby's HTTP server closes as the active one's
        opens, so a request in between finds none."""
        try:
            return self.status() == 200 and bool(self.health().get("mqtt_subscribed"))
        except (httpx.HTTPError, ValueError):
            return False


def test_a_standby_takes_over_and_a_collector_that_lost_its_lease_exits(
    services: LocalServices, postgres: PostgresServer, pg_url: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("AEDFLEET_ALERTS_STORE_PASSWORD", postgres.password)
    one, other = (
        HaCollector(services, tmp_path / name, database="ha_standby", ids=["bz-bc-001"],
                    alerts={"store": pg_url}, ha=HA)
        for name in ("one", "other")
    )  # fmt: skip
    try:
        one.process.start()
        wait_for(one.active, 60, "the first collector to take the lease and subscribe")
        other.process.start()
        assert other.status() == 503 and other.health()["role"] == "standby"
        assert one.active()  # the standby did not kick the active one's session

        one.process.signal(signal.SIGKILL)
        wait_for(other.active, 60, "the standby to take over")
        assert "standby: waiting for the lease" in other.log_path.read_text()

        with postgres.connect(pg_url.rpartition("/")[2]) as db:  # another holder takes it
            db.execute("UPDATE leases SET holder = 'intruder', expires_at = now() + interval '1h'")
        wait_for(lambda: not other.process.running, 60, "the collector that lost its lease to exit")
        assert other.process._process is not None
        assert other.process._process.returncode == LEASE_LOST_EXIT
        assert "no longer held" in other.log_path.read_text()
    finally:
        one.process.stop()
        other.process.stop()
