"""One real PostgreSQL 15 for the whole session (tests/support/postgres.py), and a database of
its own for each test that asks for one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.postgres import PostgresServer, running_postgres


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


@pytest.fixture
def pg_url(postgres: PostgresServer) -> Iterator[str]:
    """A fresh database's URL (no password in it: `postgres.password`)."""
    with postgres.database() as url:
        yield url
