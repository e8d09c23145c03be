"""Pure InfluxDB line protocol encoding: escaping rules and field formatting."""

from __future__ import annotations

from typing import Final

_TAG_ESCAPES: Final = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})
_MEASUREMENT_ESCAPES: Final = str.maketrans({",": r"\,", " ": r"\ "})
_STRING_ESCAPES: Final = str.maketrans({'"': r"\"", "\\": "\\\\", "\n": r"\n"})
_FORBIDDEN_IN_KEYS: Final = frozenset("\n\r\\")


class LineProtocolError(ValueError):
    """A name or tag value line protocol cannot carry (newline or backslash)."""


def tag(text: str) -> str:
    """Escape a tag key or value (also a field key)."""
    if _FORBIDDEN_IN_KEYS.intersection(text):
        raise LineProtocolError(f"tag values cannot hold newlines or backslashes: {text!r}")
    if not text:
        raise LineProtocolError("tag values cannot be empty")
    return text.translate(_TAG_ESCAPES)


def measurement(name: str) -> str:
    return name.translate(_MEASUREMENT_ESCAPES)


def string(value: str) -> str:
    """A quoted string field value."""
    return '"' + value.translate(_STRING_ESCAPES) + '"'


def floating(value: float) -> str:
    """Always a float to InfluxDB, even for a whole number (12.0, never 12)."""
    return repr(float(value))


def integer(value: int) -> str:
    return f"{value}i"


def boolean(value: bool) -> str:
    return "true" if value else "false"


def tag_set(tags: dict[str, str]) -> str:
    """`,k=v,...` in key order (what InfluxDB stores fastest), empty values left out."""
    return "".join(f",{tag(key)}={tag(value)}" for key, value in sorted(tags.items()) if value)


def printable(data: bytes, limit: int) -> str:
    """The first `limit` bytes with everything but printable ASCII as \\xNN: safe to store and
    to show an operator, whatever a hostile sender put in."""
    return "".join(
        chr(byte) if 0x20 <= byte < 0x7F and byte != 0x5C else f"\\x{byte:02x}"
        for byte in data[:limit]
    )
