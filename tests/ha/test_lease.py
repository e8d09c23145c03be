"""The leader lease on the session's real PostgreSQL: of two contenders exactly one holds it;
when the holder stops renewing, the other takes it only once the row has expired by the
database's clock, and by then the old holder has stopped counting itself leader; a release
hands over at once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from aedfleet.ha.lease import Lease
from aedfleet.ha.tenure import Terms
from aedfleet.sqldb import connect_postgresql
from tests.support.harness import wait_for
from tests.support.postgres import PostgresServer

SHORT = Terms(ttl_s=1.0, renew_every_s=0.2, margin_s=0.3)


@pytest.fixture
def contenders(postgres: PostgresServer, pg_url: str) -> Iterator[tuple[Lease, Lease]]:
    def make(holder: str, terms: Terms) -> Lease:
        return Lease(lambda: connect_postgresql(pg_url, postgres.password), holder=holder,
                     terms=terms)  # fmt: skip

    one, other = make("collector-a", SHORT), make("collector-b", SHORT)
    yield one, other
    one.release()
    other.release()


def expiry(postgres: PostgresServer, pg_url: str) -> tuple[str, datetime]:
    with postgres.connect(pg_url.rpartition("/")[2]) as db:
        row = db.execute("SELECT holder, expires_at FROM leases").fetchone()
    assert row is not None
    holder, expires_at = row
    assert isinstance(holder, str) and isinstance(expires_at, datetime)
    return holder, expires_at


def test_of_two_contenders_exactly_one_holds(contenders: tuple[Lease, Lease]) -> None:
    one, other = contenders
    assert one.attempt() and not other.attempt()
    for _ in range(3):
        assert one.attempt() and not other.attempt()
        assert one.leads() and not other.leads()


def test_when_the_holder_stops_renewing_the_other_takes_over_after_the_ttl(
    contenders: tuple[Lease, Lease], postgres: PostgresServer, pg_url: str
) -> None:
    one, other = contenders
    assert one.attempt()
    _, one_expires = expiry(postgres, pg_url)
    # `one` stops renewing (frozen, cut off); `other` keeps asking
    wait_for(other.attempt, 60, "the lease to lapse by the server's clock")
    assert not one.leads() and one.lapsed()  # it had stopped before the handover
    holder, other_expires = expiry(postgres, pg_url)
    taken_at = other_expires.timestamp() - SHORT.ttl_s  # the database's now() when taken
    assert holder == "collector-b" and taken_at >= one_expires.timestamp()
    assert not one.attempt() and not one.leads()  # back, it finds the lease taken


def test_a_release_hands_over_at_once(postgres: PostgresServer, pg_url: str) -> None:
    long = Terms(ttl_s=600, renew_every_s=60, margin_s=60)
    one, other = (Lease(lambda: connect_postgresql(pg_url, postgres.password), holder=name,
                        terms=long) for name in ("collector-a", "collector-b"))  # fmt: skip
    try:
        assert one.attempt() and not other.attempt()
        one.release()
        assert not one.leads()
        assert other.attempt() and not one.attempt()
    finally:
        one.release()
        other.release()


def test_a_holder_cut_off_from_the_database_leads_until_its_tenure_runs_out(
    postgres: PostgresServer, pg_url: str
) -> None:
    now, target = [100.0], [pg_url]
    lease = Lease(lambda: connect_postgresql(target[0], postgres.password), terms=SHORT,
                  clock=lambda: now[0])  # fmt: skip
    assert lease.attempt()  # asked at 100: leads until 100 + 1.0 - 0.3
    target[0] = "postgresql://aedfleet@127.0.0.1:1/gone"  # its reconnections are refused
    with postgres.connect(pg_url.rpartition("/")[2]) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    now[0] = 100.5
    assert lease.attempt()  # unanswered, twice: what it held stands
    assert lease.attempt() and not lease.lapsed()
    now[0] = 100.7
    assert not lease.leads() and lease.lapsed()
    assert not lease.attempt()
