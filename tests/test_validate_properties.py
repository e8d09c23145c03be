"""Property tests: the validator answers every topic and every byte string with a typed message
or a reason, and never raises."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from aedfleet.collector import protocol
from aedfleet.collector.validate import REJECTION_CODES, Rejection, Validator
from tests.support.golden import VALID, compact_json

validator = Validator()
NOW_MS = VALID[0].now_ms

topics = st.one_of(
    st.sampled_from([v.topic for v in VALID]),
    st.text(max_size=80),
    st.builds(
        "aed/v1/{}/{}".format,
        st.text(max_size=40),
        st.sampled_from([*protocol.KINDS, "", "#", "+"]),
    ),
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _answer_is_well_formed(result: object) -> None:
    if isinstance(result, Rejection):
        assert result.code in REJECTION_CODES
        assert result.detail
    else:
        assert isinstance(result, msgspec.Struct)


@settings(max_examples=1500)
@given(topic=topics, payload=st.binary(max_size=2048))
def test_random_bytes_never_raise(topic: str, payload: bytes) -> None:
    _answer_is_well_formed(validator.validate(topic, payload, NOW_MS))


@settings(max_examples=1500)
@given(
    vector=st.sampled_from(VALID),
    position=st.integers(min_value=0, max_value=400),
    cut=st.integers(min_value=0, max_value=40),
    insert=st.binary(max_size=8),
)
def test_mutated_bytes_never_raise(vector: Any, position: int, cut: int, insert: bytes) -> None:
    payload = vector.payload
    position = min(position, len(payload))
    mutated = payload[:position] + insert + payload[position + cut :]
    _answer_is_well_formed(validator.validate(vector.topic, mutated, NOW_MS))


@settings(max_examples=1500)
@given(
    vector=st.sampled_from(VALID),
    data=st.data(),
    replacement=json_values,
    drop=st.booleans(),
)
def test_mutated_fields_never_raise(
    vector: Any, data: st.DataObject, replacement: object, drop: bool
) -> None:
    document = json.loads(vector.payload)
    field = data.draw(st.sampled_from([*document, "extra"]))
    if drop:
        document.pop(field, None)
    else:
        document[field] = replacement
    result = validator.validate(vector.topic, compact_json(document), NOW_MS)
    _answer_is_well_formed(result)
    if not isinstance(result, Rejection):
        # whatever was accepted must survive a round trip through the wire format
        again = validator.validate(vector.topic, msgspec.json.encode(result), NOW_MS)
        assert again == result
