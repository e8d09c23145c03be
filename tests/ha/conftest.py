"""One real PostgreSQL 15 for the whole session (tests/support/postgres.py), a database of its
own for each test that asks for one, and the alert store's two backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ha.backends import Backend
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


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each test that takes it runs twice: on a real SQLite file, and on real PostgreSQL."""
    if request.param == "sqlite":
        chosen = Backend("sqlite", tmp_path / "state")
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        url: str = request.getfixturevalue("pg_url")
        chosen = Backend("postgresql", tmp_path / "state", url, server.password)
    try:
        yield chosen
    finally:
        chosen.close()
