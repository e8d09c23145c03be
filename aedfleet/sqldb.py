"""One SQL connection for the alert store and the notification outbox, on SQLite (the default,
one machine) or PostgreSQL (high availability, docs/ha.md).

The SQL is written once, in the spelling both engines accept: `?` placeholders, upserts as
INSERT ... ON CONFLICT, SQLite's type names. What differs lives here and only here: the
placeholder (psycopg's `%s`), the blob and integer types in DDL (BYTEA; BIGINT, since times
are milliseconds), the schema version (SQLite's `PRAGMA user_version`, PostgreSQL's
`store_version` table) and how a writer excludes the others while it changes the schema
(SQLite's BEGIN IMMEDIATE, a PostgreSQL advisory lock). Both connections
are in autocommit mode: a transaction is only what `transaction()` opens.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    import psycopg

Row = tuple[Any, ...]
_SCHEMA_LOCK: Final = 0x_AED_F1EE7  # the advisory lock key of schema changes (PostgreSQL)
_TYPES: Final = {"BLOB": "BYTEA", "INTEGER": "BIGINT"}
_TYPE_NAMES: Final = re.compile(r"\b(BLOB|INTEGER)\b")


def redacted(url: str) -> str:
    """A database URL as it may be logged: any password in it replaced."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def is_postgresql(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


class Database(Protocol):
    where: str  # for messages: the file, or the URL without its password

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    def changed(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement that writes; the number of rows it changed."""
        ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def script(self, ddl: str) -> None:
        """Statements separated by `;`, in SQLite's type names."""
        ...

    def transaction(self, exclusive: bool = False) -> contextlib.AbstractContextManager[None]:
        """Committed at the end, rolled back on an exception; `exclusive`: one writer at a
        time among every connection to the database (schema changes)."""
        ...

    def has_table(self, name: str) -> bool: ...

    def user_version(self) -> int: ...

    def set_user_version(self, version: int) -> None: ...

    def close(self) -> None: ...


def _statements(ddl: str) -> list[str]:
    return [s.strip() for s in ddl.split(";") if s.strip()]


class SqliteDatabase:
    def __init__(self, connection: sqlite3.Connection, where: str) -> None:
        self.connection = connection  # autocommit (isolation_level=None)
        self.where = where

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self.connection.execute(sql, params).fetchall()

    def changed(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.connection.execute(sql, params).rowcount

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.connection.executemany(sql, rows)

    def script(self, ddl: str) -> None:
        for statement in _statements(ddl):  # not executescript: it commits what is open
            self.connection.execute(statement)

    @contextlib.contextmanager
    def transaction(self, exclusive: bool = False) -> Iterator[None]:
        self.connection.execute("BEGIN IMMEDIATE" if exclusive else "BEGIN")
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def has_table(self, name: str) -> bool:
        return bool(self.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)))  # fmt: skip

    def user_version(self) -> int:
        value: int = self.execute("PRAGMA user_version")[0][0]
        return value

    def set_user_version(self, version: int) -> None:
        self.connection.execute(f"PRAGMA user_version = {int(version)}")

    def close(self) -> None:
        self.connection.close()


class PostgresDatabase:
    def __init__(self, connection: psycopg.Connection[Row], where: str) -> None:
        self.connection = connection  # autocommit=True
        self.where = where

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("?", "%s")  # no statement of ours has a literal `?` or `%`

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cursor = self.connection.execute(self._sql(sql), params)
        return cursor.fetchall() if cursor.description is not None else []

    def changed(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.connection.execute(self._sql(sql), params).rowcount

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.connection.cursor() as cursor:
            cursor.executemany(self._sql(sql), rows)

    def script(self, ddl: str) -> None:
        for statement in _statements(ddl):
            self.connection.execute(_TYPE_NAMES.sub(lambda m: _TYPES[m.group(1)], statement))

    @contextlib.contextmanager
    def transaction(self, exclusive: bool = False) -> Iterator[None]:
        if not exclusive:
            with self.connection.transaction():
                yield
            return
        # the lock before the transaction begins: begun after the other writer's commit, it
        # sees that commit in the catalogue too (a table it created), not only in the rows
        self.connection.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK,))
        try:
            with self.connection.transaction():
                yield
        finally:
            self.connection.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK,))

    def has_table(self, name: str) -> bool:
        return bool(self.execute("SELECT to_regclass(?) IS NOT NULL", (name,))[0][0])

    def user_version(self) -> int:
        if not self.has_table("store_version"):
            return 0
        rows = self.execute("SELECT version FROM store_version")
        return int(rows[0][0]) if rows else 0

    def set_user_version(self, version: int) -> None:
        self.script("CREATE TABLE IF NOT EXISTS store_version (version INTEGER NOT NULL)")
        self.execute("DELETE FROM store_version")
        self.execute("INSERT INTO store_version VALUES (?)", (version,))

    def close(self) -> None:
        self.connection.close()


def connect_postgresql(url: str, password: str = "") -> PostgresDatabase:
    """A connection to the store at `url`; the password from the configuration's environment
    (AEDFLEET_ALERTS_STORE_PASSWORD), else libpq's own (~/.pgpass, PGPASSWORD)."""
    import psycopg  # noqa: PLC0415 - only a high-availability collector loads libpq

    # a server gone silent (its machine died) fails a statement within seconds instead of the
    # kernel's minutes of retransmissions: the collector's event loop waits on each statement
    connection = psycopg.connect(
        url, autocommit=True, connect_timeout=10, tcp_user_timeout=10_000,
        keepalives_idle=10, keepalives_interval=5, keepalives_count=2,
        password=password or None,
    )  # fmt: skip
    return PostgresDatabase(connection, redacted(url))
