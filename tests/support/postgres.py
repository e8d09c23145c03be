"""A real PostgreSQL 15 (Debian's) for the tests of the high-availability alert store and the
collectors' lease: initdb into a fresh folder, then `postgres` on a free loopback port and a
private socket folder, started and stopped by PID like the harness's other services
(aedfleet/services.py). PostgreSQL refuses to run as root: as root (CI) it runs as Debian's
`postgres` account, which owns the folder; as anyone else, as that user.

Connections authenticate with a password over TCP (scram-sha-256), as the collector's do in
production; each test gets a database of its own (`database()`).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import psycopg

from aedfleet.services import LOOPBACK, ManagedProcess, ServiceError, free_port

BIN: Final = Path("/usr/lib/postgresql/15/bin")
SUPERUSER: Final = "aedfleet"
# a test server: losing it on a power cut is fine, waiting for disks is not
NO_DURABILITY: Final = ("-c", "fsync=off", "-c", "synchronous_commit=off",
                        "-c", "full_page_writes=off")  # fmt: skip


@dataclass(frozen=True)
class PostgresServer:
    port: int
    password: str

    def url(self, database: str = "postgres") -> str:
        """The URL as it is written in the collector's configuration: no password in it."""
        return f"postgresql://{SUPERUSER}@{LOOPBACK}:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url(database), password=self.password, autocommit=True)

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        """A new, empty database's URL; dropped afterwards, with whoever is still connected."""
        name = f"t_{secrets.token_hex(6)}"
        with self.connect() as admin:
            admin.execute(f"CREATE DATABASE {name}")
        try:
            yield self.url(name)
        finally:
            with self.connect() as admin:
                admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def _account() -> str | None:
    """Whom to run PostgreSQL as: Debian's `postgres` account when we are root, else us."""
    return "postgres" if os.geteuid() == 0 else None


def _answers(port: int, password: str) -> bool:
    try:
        with psycopg.connect(f"postgresql://{SUPERUSER}@{LOOPBACK}:{port}/postgres",
                             password=password, connect_timeout=2):  # fmt: skip
            return True
    except psycopg.OperationalError:
        return False


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    if not (BIN / "postgres").exists():
        raise ServiceError(f"PostgreSQL 15 is not installed ({BIN}): run make setup")
    user = _account()
    # not under pytest's temporary folder: that is root's (0700), which `postgres` cannot enter
    root = Path(tempfile.mkdtemp(prefix="aedfleet-pg-"))
    try:
        data, sockets = root / "data", root / "sockets"
        sockets.mkdir()
        password = secrets.token_urlsafe(16)
        password_file = root / "password"
        password_file.write_text(password)
        if user is not None:
            account = pwd.getpwnam(user)
            for path in (root, sockets, password_file):
                os.chown(path, account.pw_uid, account.pw_gid)
        initdb = subprocess.run(
            [str(BIN / "initdb"), "-D", str(data), "-U", SUPERUSER, f"--pwfile={password_file}",
             "--auth-host=scram-sha-256", "--auth-local=peer", "-E", "UTF8", "--locale=C",
             "--no-sync"],
            user=user, group=user, extra_groups=[] if user else None, cwd=root,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False,
        )  # fmt: skip
        if initdb.returncode != 0:
            raise ServiceError(f"initdb failed: {initdb.stdout.decode(errors='replace')[-800:]}")
        port = free_port()
        server = ManagedProcess(
            "postgresql",
            [str(BIN / "postgres"), "-D", str(data), "-p", str(port), "-k", str(sockets),
             "-h", LOOPBACK, *NO_DURABILITY],
            root / "postgres.log",
            ready=lambda: _answers(port, password),
            user=user,
        )  # fmt: skip
        server.start()
        try:
            yield PostgresServer(port, password)
        finally:
            server.signal(signal.SIGINT)  # fast shutdown: clients still connected are cut off
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
