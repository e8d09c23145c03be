from __future__ import annotations

from aedfleet.collector.ratelog import RateLimiter


def test_one_line_per_window_then_reports_what_it_held_back() -> None:
    limiter = RateLimiter(window_ms=1000)
    assert limiter.allow("bad_json", 0) == 0
    assert limiter.allow("bad_json", 10) is None
    assert limiter.allow("bad_json", 999) is None
    assert limiter.allow("too_large", 999) == 0
    assert limiter.allow("bad_json", 1000) == 2
