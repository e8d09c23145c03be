from __future__ import annotations

from pathlib import Path

from aedfleet.collector.spool import Spool


def test_batches_come_back_oldest_first_and_survive_a_restart(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000)
    assert spool.put(b"first 1\n") and spool.put(b"second 2\n")
    reopened = Spool(tmp_path, max_bytes=10_000)
    assert len(reopened) == 2
    oldest = reopened.oldest()
    assert oldest is not None and oldest[1] == b"first 1\n"
    reopened.remove(oldest[0])
    assert reopened.put(b"third 3\n")
    remaining = []
    while (item := reopened.oldest()) is not None:
        remaining.append(item[1])
        reopened.remove(item[0])
    assert remaining == [b"second 2\n", b"third 3\n"]
    assert reopened.bytes_used == 0


def test_a_full_spool_refuses_and_writes_nothing(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=60)
    assert spool.put(b"x" * 10)
    used = spool.bytes_used
    assert not spool.put(bytes(range(256)) * 4)
    assert spool.bytes_used == used
    assert len(spool) == 1


def test_a_batch_interrupted_by_a_crash_is_discarded(tmp_path: Path) -> None:
    (tmp_path / "0000000000000001.lp.tmp").write_bytes(b"half")
    spool = Spool(tmp_path, max_bytes=1000)
    assert spool.oldest() is None
    assert not list(tmp_path.glob("*.tmp"))
