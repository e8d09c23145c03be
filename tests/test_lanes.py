"""The busy lanes `make test` runs in turn (tests/support/lanes.py) name files that exist, each
once: a renamed file would otherwise run as an ordinary one, beside the other busy ones."""

from __future__ import annotations

from pathlib import Path

from tests.support.lanes import BUSY_LANES, LANE_OF

ROOT = Path(__file__).parent.parent


def test_every_busy_file_exists_and_is_in_one_lane() -> None:
    listed = [path for lane in BUSY_LANES for path in lane]
    assert len(listed) == len(LANE_OF)
    assert [path for path in listed if not (ROOT / path).is_file()] == []
