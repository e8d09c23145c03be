"""--log-format: one line per record, logfmt or JSON, whatever the message holds."""

from __future__ import annotations

import json
import logging
import sys

from aedfleet.logformat import JsonFormatter, LogfmtFormatter


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("aedfleet.collector", logging.WARNING, __file__, 1, message,
                             None, None)  # fmt: skip


HOSTILE = 'rejected "x"\nts=0 level=critical msg=forged\\'


def test_logfmt_keeps_a_hostile_message_on_one_line_and_quoted() -> None:
    line = LogfmtFormatter().format(record(HOSTILE))
    assert "\n" not in line
    assert line.startswith("ts=") and " level=warning logger=aedfleet.collector msg=" in line
    assert line.endswith('msg="rejected \\"x\\"\\nts=0 level=critical msg=forged\\\\"')


def test_logfmt_puts_a_traceback_in_one_field() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, None)
        failed.exc_info = sys.exc_info()
    line = LogfmtFormatter().format(failed)
    assert "\n" not in line and 'exc="Traceback' in line and "ValueError: boom" in line


def test_json_is_one_object_per_line() -> None:
    line = JsonFormatter().format(record(HOSTILE))
    assert "\n" not in line
    fields = json.loads(line)
    assert fields["msg"] == HOSTILE and fields["level"] == "warning"
