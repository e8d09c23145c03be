"""The collectors' leader lease, a row in the alert store's PostgreSQL (docs/ha.md).

One statement acquires or renews it, judged by the database's clock (`now()`), so the
collectors' own clocks never matter: the row is taken when it is free, ours already, or
expired. Whether this collector may act as the leader is decided on its own monotonic clock by
aedfleet/ha/tenure.py: it stops before the row can expire, so before anyone else can take it.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Final

import psycopg

from aedfleet.ha.tenure import Tenure, Terms, after_attempt
from aedfleet.sqldb import PostgresDatabase

log = logging.getLogger("aedfleet.ha")
COLLECTOR_LEASE: Final = "collector"  # the one lease the active collector holds
DEFAULT_TERMS: Final = Terms()
SCHEMA: Final = """CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at TIMESTAMPTZ NOT NULL)"""
# taken if free, ours, or expired; no row back when another holds it
ACQUIRE: Final = """
INSERT INTO leases AS held (name, holder, expires_at)
VALUES (?, ?, now() + ? * interval '1 second')
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE held.holder = excluded.holder OR held.expires_at <= now()
RETURNING held.holder"""


def holder_name() -> str:
    """This process, as the lease row names it: host, PID and a random part (a restarted
    process is another holder, even with the PID of an old one)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Lease:
    """One contender for the lease `name`; its attempts and release run one at a time (the
    collector runs them in worker threads)."""

    def __init__(
        self,
        connect: Callable[[], PostgresDatabase],
        name: str = COLLECTOR_LEASE,
        holder: str = "",
        terms: Terms = DEFAULT_TERMS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        terms.check()
        self.name = name
        self.holder = holder or holder_name()
        self.terms = terms
        self.tenure = Tenure()
        self._connect = connect
        self._clock = clock
        self._db: PostgresDatabase | None = None
        self._lock = threading.Lock()

    def _database(self) -> PostgresDatabase:
        if self._db is None:
            db = self._connect()
            with db.transaction(exclusive=True):  # contenders starting together make it once
                db.script(SCHEMA)
            self._db = db
        return self._db

    def attempt(self) -> bool:
        """Acquire, or renew, the lease; whether this contender leads now."""
        with self._lock:
            return self._attempt()

    def _attempt(self) -> bool:
        started = self._clock()
        held: bool | None
        try:
            held = bool(self._database().execute(ACQUIRE, (self.name, self.holder,
                                                           self.terms.ttl_s)))  # fmt: skip
        except psycopg.Error as error:  # unanswered: what we had stands, and runs out alone
            log.warning("lease %s: the database did not answer: %r", self.name, str(error))
            self._drop_connection()
            held = None
        was_leading = self.leads()
        self.tenure = after_attempt(self.tenure, self.terms, started, held)
        if held is False and was_leading:
            log.error("lease %s: taken by another holder", self.name)
        return self.leads()

    def leads(self) -> bool:
        return self.tenure.leads(self._clock())

    def lapsed(self) -> bool:
        """It led and was not renewed in time: stop acting as the leader at once."""
        return self.tenure.lapsed(self._clock())

    def release(self) -> None:
        """Give the lease up (on a clean stop), so a standby takes over at once."""
        with self._lock:
            self._release()

    def _release(self) -> None:
        self.tenure = Tenure()
        if self._db is None:
            return
        try:
            self._db.execute("DELETE FROM leases WHERE name = ? AND holder = ?",
                             (self.name, self.holder))  # fmt: skip
        except psycopg.Error as error:  # it lapses on its own
            log.warning("lease %s: not released: %r", self.name, str(error))
        self._drop_connection()

    def _drop_connection(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.close()
