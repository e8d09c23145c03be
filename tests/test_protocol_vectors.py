"""Every golden vector: the valid ones decode to the stated message, the invalid ones are
rejected with the stated reason."""

from __future__ import annotations

import json

import msgspec
import pytest

from aedfleet.collector import protocol
from aedfleet.collector.validate import REJECTION_CODES, Rejection, Validator
from tests.support.golden import INVALID, VALID, VECTORS_DIR, Vector, compact_json

validator = Validator()


def test_vectors_cover_every_kind_event_and_state() -> None:
    kinds = {v.topic.rsplit("/", 1)[1] for v in VALID}
    assert kinds == set(protocol.KINDS)
    events = {v.expected["ev"] for v in VALID if v.expected and "ev" in v.expected}
    assert events == set(protocol.EVENT_TYPES)
    states = {v.expected["state"] for v in VALID if v.expected and "state" in v.expected}
    assert states == set(protocol.STATUS_STATES)
    assert len(VALID) >= 15
    assert len(INVALID) >= 25


def test_invalid_vectors_cover_every_rejection_code() -> None:
    assert {v.reason for v in INVALID} == set(REJECTION_CODES)


@pytest.mark.parametrize("vector", VALID, ids=lambda v: v.name)
def test_valid_vector_decodes_to_expected_message(vector: Vector) -> None:
    message = validator.validate(vector.topic, vector.payload, vector.now_ms)
    assert not isinstance(message, Rejection), message
    assert type(message).__name__ == vector.type
    assert msgspec.to_builtins(message) == vector.expected


@pytest.mark.parametrize("vector", INVALID, ids=lambda v: v.name)
def test_invalid_vector_is_rejected_with_its_reason(vector: Vector) -> None:
    result = validator.validate(vector.topic, vector.payload, vector.now_ms)
    assert isinstance(result, Rejection), f"accepted: {result}"
    assert result.code == vector.reason, result.detail
    assert result.topic == vector.topic
    if vector.detail_contains:
        assert vector.detail_contains in result.detail


def test_valid_payloads_are_well_under_the_size_limit() -> None:
    # an ESP32 builds these in one small buffer; the limit leaves room for growth
    assert max(len(v.payload) for v in VALID) <= protocol.MAX_PAYLOAD_BYTES // 2


def test_unsynced_clock_is_not_checked_for_skew() -> None:
    boot = next(v for v in VALID if v.expected and v.expected.get("sync") is False)
    far_future = boot.now_ms + 10 * 365 * 86_400_000
    assert not isinstance(validator.validate(boot.topic, boot.payload, far_future), Rejection)


def test_skew_limits_are_configurable() -> None:
    door = next(v for v in VALID if v.type == "DoorOpen")
    assert isinstance(
        Validator(max_age_ms=60_000).validate(door.topic, door.payload, door.now_ms), Rejection
    )


def test_prefix_is_configurable() -> None:
    door = next(v for v in VALID if v.type == "DoorOpen")
    topic = door.topic.replace("aed/", "redcross/binzhou/", 1)
    custom = Validator(prefix="redcross/binzhou")
    assert not isinstance(custom.validate(topic, door.payload, door.now_ms), Rejection)
    assert isinstance(validator.validate(topic, door.payload, door.now_ms), Rejection)


def test_wire_text_of_each_valid_vector_is_its_payload_in_compact_form() -> None:
    # MicroPython's dicts keep no order, so the firmware's tests compare against `wire`
    document = json.loads((VECTORS_DIR / "valid.json").read_text())
    for item in document["vectors"]:
        assert item["wire"].encode() == compact_json(item["payload"]), item["name"]
