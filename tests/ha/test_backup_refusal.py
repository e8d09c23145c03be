"""`aedfleet backup` and `restore` copy the SQLite store: with the PostgreSQL store they say so
and point to pg_dump, instead of looking for a file that is not there."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from aedfleet.cli import main


@pytest.mark.parametrize("command", [["backup", "--out", "b.tar.gz"], ["restore", "b.tar.gz"]])
def test_the_sqlite_backup_refuses_a_postgresql_store(tmp_path: Path, command: list[str]) -> None:
    config = tmp_path / "collector.toml"
    config.write_text('[alerts]\nstore = "postgresql://aedfleet@127.0.0.1:1/aedfleet"\n'
                      '[http]\nlisten = ""\n')  # fmt: skip
    (tmp_path / "b.tar.gz").write_bytes(b"")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        result = CliRunner().invoke(main, [command[0], "--config", str(config), *command[1:]])
    assert result.exit_code == 1 and "pg_dump" in result.output
