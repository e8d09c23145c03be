"""One line per log record, as logfmt or JSON, for journald (stdout) and log shippers.

A record never spans lines: newlines in a message or a traceback are escaped, so an alert
text or a hostile payload quoted in a message cannot forge a second record.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
import sys
from typing import Final

TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_BARE: Final = re.compile(r"[A-Za-z0-9_.:/@+-]+")


def _fields(record: logging.LogRecord, formatter: logging.Formatter) -> dict[str, str]:
    stamp = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
    fields = {
        "ts": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    if record.exc_info:
        fields["exc"] = formatter.formatException(record.exc_info)
    return fields


def logfmt_value(value: str) -> str:
    if value and _BARE.fullmatch(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record, self)
        return " ".join(f"{key}={logfmt_value(value)}" for key, value in fields.items())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record, self), ensure_ascii=False)


def configure(log_format: str, level: int) -> None:
    """Log to stdout (journald keeps it) in `log_format`: text, logfmt or json."""
    handler = logging.StreamHandler(sys.stdout)
    if log_format == "logfmt":
        handler.setFormatter(LogfmtFormatter())
    elif log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
