# The firmware's message builder against the golden vectors, byte for byte.

import json

import report

VECTORS = "tests/vectors/valid.json"


def _vectors():
    with open(VECTORS) as handle:
        return json.load(handle)["vectors"]


def _build(vector):
    payload = vector["payload"]
    prefix, cabinet_id, kind = vector["topic"].split("/v1/")[0], payload["id"], None
    kind = vector["topic"].rsplit("/", 1)[1]
    common = (payload["seq"], payload["ts"], payload["sync"])
    if kind == "event":
        return report.event(prefix, cabinet_id, payload["ev"], payload, *common)
    if kind == "telemetry":
        return report.telemetry(prefix, cabinet_id, payload, *common)
    return report.status(prefix, cabinet_id, payload["state"], payload, *common)


def test_every_device_vector_is_built_byte_for_byte():
    built = 0
    for vector in _vectors():
        if vector["topic"].endswith("/config"):
            continue
        topic, payload = _build(vector)
        assert topic == vector["topic"], vector["name"]
        assert payload == vector["wire"].encode(), vector["name"]
        built += 1
    assert built >= 20


def test_every_event_type_has_a_golden_vector():
    covered = set()
    for vector in _vectors():
        if "ev" in vector["payload"]:
            covered.add(vector["payload"]["ev"])
    assert covered == set(report.EVENT_FIELDS) | set(report.OPTIONAL_EVENT_FIELDS)


def test_strings_that_would_break_the_json_are_refused():
    try:
        report.event("aed", "bz-bc-001", "fault", {"code": 'x"y'}, 1, 2, True)
    except ValueError:
        return
    raise AssertionError("a quote went into a message")
