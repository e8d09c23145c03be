"""The harness's PostgreSQL is the real server, reached with the password over loopback."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.postgres import PostgresServer


def test_the_server_is_postgresql_15_and_wants_the_password(
    postgres: PostgresServer, pg_url: str
) -> None:
    with psycopg.connect(pg_url, password=postgres.password) as db:
        row = db.execute("SHOW server_version_num").fetchone()
        assert row is not None and int(str(row[0])) // 10000 == 15
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(pg_url, password="wrong").close()
