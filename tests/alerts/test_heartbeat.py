"""The fleet-wide readiness heartbeat (aedfleet/alerts/heartbeat.py), on simulated time."""

from __future__ import annotations

from aedfleet.alerts.heartbeat import Heartbeat

T0 = 1_790_000_000_000
MIN = 60_000


def test_the_first_heartbeat_comes_one_interval_after_start_not_at_once() -> None:
    heartbeat = Heartbeat(MIN, started_ms=T0)
    # the backlog a restarted collector finds is folded during the first interval
    assert [heartbeat.due(T0 + s * 1000) for s in (0, 1, 30, 59)] == [False] * 4
    assert heartbeat.due(T0 + MIN)


def test_then_once_per_interval_counted_from_the_last_one() -> None:
    heartbeat = Heartbeat(MIN, started_ms=T0)
    assert heartbeat.due(T0 + MIN + 500)  # a late tick
    assert not heartbeat.due(T0 + 2 * MIN)  # only 59.5 s after the last
    assert heartbeat.due(T0 + 2 * MIN + 500)
    assert not heartbeat.due(T0 + 2 * MIN + 600)
