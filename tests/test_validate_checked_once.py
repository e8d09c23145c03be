"""The cabinet id and firmware version patterns are checked by the validator, each distinct value
once, not by a regex per message as it decodes: what is refused stays refused, however many
valid values came before, and each field names itself."""

from __future__ import annotations

import json
from typing import Any

from aedfleet.collector.validate import MAX_CACHED_VERSIONS, Rejection, Validator
from tests.support.golden import VALID, Vector


def vector(kind: str) -> Vector:
    return next(v for v in VALID if v.type == kind and isinstance(v.document, dict))


def with_fields(base: Vector, **fields: Any) -> bytes:
    return json.dumps({**base.document, **fields}, separators=(",", ":")).encode()


def check(validator: Validator, base: Vector, **fields: Any) -> object:
    return validator.validate(base.topic, with_fields(base, **fields), base.now_ms)


def test_a_malformed_version_is_refused_after_many_valid_ones() -> None:
    validator = Validator()
    online = vector("Online")
    for number in range(MAX_CACHED_VERSIONS + 500):
        assert not isinstance(check(validator, online, fw=f"1.0.{number}"), Rejection)
    refused = check(validator, online, fw="<b>1.0</b>")
    assert isinstance(refused, Rejection)
    assert refused.code == "bad_value"
    assert "fw" in refused.detail


def test_a_version_is_checked_whole_a_trailing_newline_included() -> None:
    validator = Validator()
    telemetry = vector("Telemetry")
    assert not isinstance(check(validator, telemetry, fw="1.0.0"), Rejection)
    refused = check(validator, telemetry, fw="1.0.0\n")
    assert isinstance(refused, Rejection)
    assert refused.code == "bad_value"


def test_each_version_field_names_itself() -> None:
    rolled_back = vector("OtaRolledBack")
    refused = check(Validator(), rolled_back, **{"from": "1.0 beta"})
    assert isinstance(refused, Rejection)
    assert (refused.code, refused.detail.split()[0]) == ("bad_value", "from")


def test_a_payload_id_that_is_not_the_topics_is_told_apart_from_a_malformed_one() -> None:
    door = vector("DoorOpen")
    other = check(Validator(), door, id="bz-bc-999")
    reserved = check(Validator(), door, id="aedfleet-collector")
    assert isinstance(other, Rejection) and isinstance(reserved, Rejection)
    assert (other.code, reserved.code) == ("id_mismatch", "bad_cabinet_id")
