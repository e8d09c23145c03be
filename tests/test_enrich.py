"""Golden pipeline cases: each valid vector becomes exactly the line in vectors/lines.json."""

from __future__ import annotations

import datetime
import json

import pytest

from aedfleet.collector import protocol
from aedfleet.collector.clock import days_until, local_date
from aedfleet.collector.enrich import PointEncoder
from aedfleet.collector.inventory import Cabinet
from aedfleet.collector.pipeline import Pipeline
from aedfleet.collector.validate import Rejection, Validator
from tests.support.golden import INVALID, VALID, VECTORS_DIR, Vector

EXPECTED_LINES: dict[str, str] = json.loads((VECTORS_DIR / "lines.json").read_text())
HOSPITAL = Cabinet(
    id="bz-bc-001",
    name="Binzhou Central Hospital",
    site="Central Hospital, east gate",
    district="Bincheng",
    address="661 Huanghe 2nd Road",
    lat=37.38,
    lon=117.97,
    access_hours="24/7",
    guardian_name="Ward office",
    guardian_phone="+8654300000000",
    technician_phone="",
    aed_model="Mindray BeneHeart C2",
    install_date=datetime.date(2025, 1, 1),
)


def encoder() -> PointEncoder:
    return PointEncoder({HOSPITAL.id: HOSPITAL}, utc_offset_minutes=480)


@pytest.mark.parametrize("vector", [v for v in VALID if v.type != "Config"], ids=lambda v: v.name)
def test_valid_vector_becomes_the_golden_line(vector: Vector) -> None:
    message = Validator().validate(vector.topic, vector.payload, vector.now_ms)
    assert not isinstance(message, Rejection | protocol.Config)
    assert encoder().encode(message, arrival_ms=vector.now_ms) == EXPECTED_LINES[vector.name]


def test_expiry_days_count_in_local_dates() -> None:
    pads = datetime.date(2027, 3, 1)
    # 2027-02-28 16:30 UTC is already 1 March 00:30 in China: the pads expire today
    assert encoder().days_until(pads, 1_803_832_200_000) == 0
    assert PointEncoder({}, utc_offset_minutes=0).days_until(pads, 1_803_832_200_000) == 1


def test_the_local_date_is_the_one_expiry_days_count_from() -> None:
    """The demo dated its pads by the machine's (UTC) calendar: from 16:00 UTC the pads it
    announced as 20 days from expiry were 19 from China's date, which the collector counts."""
    evening_utc = 1_803_832_200_000  # 2027-02-28 16:30 UTC
    assert local_date(evening_utc, 480) == datetime.date(2027, 3, 1)
    assert local_date(evening_utc, 0) == datetime.date(2027, 2, 28)
    assert local_date(evening_utc, -600) == datetime.date(2027, 2, 28)  # Hawaii: 06:30
    for offset in (480, 0, -600):
        expiry = local_date(evening_utc, offset) + datetime.timedelta(days=20)
        assert days_until(expiry, evening_utc, offset) == 20


def test_every_invalid_vector_becomes_a_dead_letter_with_its_reason() -> None:
    pipeline = Pipeline(Validator(), encoder())
    lines = [pipeline.line_for(v.topic, v.payload, v.now_ms).line for v in INVALID]
    assert all(line.startswith("dead_letter,") for line in lines)
    for vector, line in zip(INVALID, lines, strict=True):
        assert f",reason={vector.reason} " in line
    # every dead letter its own point: same-millisecond arrivals get distinct timestamps
    stamps = [int(line.rsplit(" ", 1)[1]) for line in lines]
    assert len(set(stamps)) == len(stamps)
    assert pipeline.counts.received == len(INVALID)
    assert sum(pipeline.counts.invalid.values()) == len(INVALID)


def test_dead_letter_payload_is_escaped_and_truncated() -> None:
    hostile = next(v for v in INVALID if v.reason == "not_utf8")
    line = Pipeline(Validator(), encoder()).line_for(hostile.topic, hostile.payload, 0).line
    assert "\\\\xff" in line and "\n" not in line
    big = next(v for v in INVALID if v.reason == "too_large")
    line = Pipeline(Validator(), encoder()).line_for(big.topic, big.payload, 0).line
    assert f"size={len(big.payload)}i" in line
    assert len(line) < 1200


def test_unsynced_redelivery_is_stored_once_and_synced_redelivery_overwrites_itself() -> None:
    pipeline = Pipeline(Validator(), encoder())
    unsynced = next(v for v in VALID if v.expected and v.expected.get("sync") is False)
    first = pipeline.line_for(unsynced.topic, unsynced.payload, unsynced.now_ms).line
    again = pipeline.line_for(unsynced.topic, unsynced.payload, unsynced.now_ms + 5000).line
    assert first and again == ""
    assert pipeline.counts.duplicates == 1
    synced = next(v for v in VALID if v.type == "DoorOpen")
    one = pipeline.line_for(synced.topic, synced.payload, synced.now_ms).line
    two = pipeline.line_for(synced.topic, synced.payload, synced.now_ms + 5000).line
    # same measurement, tags and timestamp: InfluxDB keeps one point
    assert one.rsplit(" ", 1)[1] == two.rsplit(" ", 1)[1]
    assert one.split(" ", 1)[0] == two.split(" ", 1)[0]


def test_unknown_cabinets_are_kept_flagged_and_counted() -> None:
    pipeline = Pipeline(Validator(), encoder())
    stranger = next(v for v in VALID if v.topic.startswith("aed/v1/bz-zh-004"))
    line = pipeline.line_for(stranger.topic, stranger.payload, stranger.now_ms).line
    assert ",known=false," in line and ",district=unknown," in line
    assert pipeline.counts.unknown_cabinet == 1
