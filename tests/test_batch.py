from __future__ import annotations

import pytest

from aedfleet.collector.batch import Batcher


def make(max_points: int = 3, max_age_ms: int = 100, capacity: int = 5) -> Batcher[int]:
    return Batcher(max_points=max_points, max_age_ms=max_age_ms, capacity=capacity)


def test_flushes_at_size_before_the_interval() -> None:
    batcher = make()
    for token in range(3):
        assert not batcher.due(0)
        batcher.add(f"line {token}", token, clock=lambda: 0)
    assert batcher.due(0)
    batch = batcher.take()
    assert batch.tokens == [0, 1, 2]
    assert batcher.pending == 0


def test_flushes_at_the_interval_before_size() -> None:
    batcher = make()
    batcher.add("a", 1, clock=lambda: 1000)
    assert batcher.ms_until_due(1040) == 60
    assert not batcher.due(1099)
    assert batcher.due(1100)


def test_take_leaves_the_rest_due_at_once() -> None:
    batcher = make()
    for token in range(5):
        batcher.add("x", token, clock=lambda: 0)
    assert batcher.full
    assert batcher.take().tokens == [0, 1, 2]
    assert not batcher.full
    assert batcher.pending == 2
    assert batcher.due(0) is False and batcher.due(100) is True


def test_empty_lines_are_acknowledged_but_not_written() -> None:
    batcher = make()
    batcher.add("a 1", 1, clock=lambda: 0)
    batcher.add("", 2, clock=lambda: 0)
    batch = batcher.take()
    assert batch.tokens == [1, 2]
    assert batch.body() == b"a 1\n"


def test_empty_batcher_is_never_due() -> None:
    assert make().ms_until_due(0) is None
    assert not make().due(10**9)


def test_batch_size_cannot_exceed_capacity() -> None:
    with pytest.raises(ValueError):
        make(max_points=10, capacity=5)
