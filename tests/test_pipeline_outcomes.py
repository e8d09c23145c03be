"""The pipeline says what each message was, typed, so the shell never sorts it again: a new
message is Stored with its line, a repeat is a Duplicate, bad input is Rejected with its dead
letter, and our own retained config is a ConfigEcho; the last two carry nothing to store but
are still acknowledged."""

from __future__ import annotations

from aedfleet.collector import protocol
from aedfleet.collector.pipeline import ConfigEcho, Duplicate, Pipeline, Rejected, Stored
from aedfleet.collector.validate import Validator
from tests.support.golden import INVALID, VALID
from tests.test_enrich import encoder


def test_each_message_comes_back_as_what_it_was() -> None:
    pipeline = Pipeline(Validator(), encoder())
    unsynced = next(v for v in VALID if v.expected and v.expected.get("sync") is False)
    first = pipeline.line_for(unsynced.topic, unsynced.payload, unsynced.now_ms)
    assert isinstance(first, Stored) and first.line.startswith("event,")
    again = pipeline.line_for(unsynced.topic, unsynced.payload, unsynced.now_ms + 5000)
    assert isinstance(again, Duplicate) and again.line == ""
    assert again.message == first.message  # the alert engine still sees the repeat

    bad = INVALID[0]
    rejected = pipeline.line_for(bad.topic, bad.payload, bad.now_ms)
    assert isinstance(rejected, Rejected) and rejected.line.startswith("dead_letter,")
    assert rejected.rejection.code == bad.reason

    config = next(v for v in VALID if v.type == "Config")
    echo = pipeline.line_for(config.topic, config.payload, config.now_ms)
    assert isinstance(echo, ConfigEcho) and echo.line == ""
    assert isinstance(echo.config, protocol.Config)
