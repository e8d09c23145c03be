"""The active collector's watch ends it the moment its lease is no longer held: when its
tenure runs out (on an injected clock), or when another holder took the lease."""

from __future__ import annotations

import threading

import pytest

from aedfleet.collector.config import ConfigError, load_config
from aedfleet.ha.lease import Lease
from aedfleet.ha.runner import lease_for, watch
from aedfleet.ha.tenure import Tenure, Terms
from aedfleet.sqldb import PostgresDatabase

TERMS = Terms(ttl_s=15.0, renew_every_s=3.0, margin_s=3.0)


def unconnected() -> PostgresDatabase:
    raise AssertionError("the watch never touches the database")


def test_the_watch_ends_the_process_when_the_tenure_runs_out() -> None:
    looks = iter(range(101, 200))  # each look of the watch: one second later
    now = [100.0]

    def clock() -> float:
        now[0] = float(next(looks))
        return now[0]

    lease = Lease(unconnected, terms=TERMS, clock=clock)
    lease.tenure = Tenure(112.0)  # held from an attempt started at 100
    lost: list[Lease] = []
    watch(lease, threading.Event(), lost.append, every_s=0)
    assert lost == [lease] and now[0] == 112.0  # not a look later


def test_the_watch_ends_the_process_when_another_took_the_lease() -> None:
    lease = Lease(unconnected, terms=TERMS, clock=lambda: 100.0)
    lease.tenure = Tenure()  # an attempt found another holder
    lost: list[Lease] = []
    watch(lease, threading.Event(), lost.append, every_s=0)
    assert lost == [lease]


def test_the_watch_stops_quietly_on_a_clean_stop() -> None:
    lease = Lease(unconnected, terms=TERMS, clock=lambda: 100.0)
    lease.tenure = Tenure(112.0)
    done = threading.Event()
    done.set()
    lost: list[Lease] = []
    watch(lease, done, lost.append, every_s=0)
    assert lost == []


def test_a_lease_needs_the_postgresql_store() -> None:
    with pytest.raises(ConfigError, match="store = postgresql"):
        lease_for(load_config(None, environ={"AEDFLEET_HA_LEASE": "true"}))
