"""Loads the golden vectors in tests/vectors/: the protocol's examples, shared by every part."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import msgspec

VECTORS_DIR: Final = Path(__file__).parent.parent / "vectors"


class Vector(msgspec.Struct, frozen=True):
    name: str
    topic: str
    payload: bytes
    now_ms: int
    type: str | None = None  # valid: the protocol class it must decode to
    expected: dict[str, Any] | None = None  # valid: the decoded fields
    reason: str | None = None  # invalid: the rejection code
    detail_contains: str | None = None  # invalid: words the reason must mention
    document: Any = None  # the payload as JSON, where the vector gives it so

    def at(self, now_ms: int) -> bytes:
        """The payload as if made `now_ms - self.now_ms` later: device times move with the
        clock, so the clock checks give the same answer on any day the tests run."""
        if not isinstance(self.document, dict):
            return self.payload
        shift = now_ms - self.now_ms
        moved = {
            key: value + shift if key in ("ts", "wake") and isinstance(value, int) else value
            for key, value in self.document.items()
        }
        return compact_json(moved)


def compact_json(document: object) -> bytes:
    """How the firmware writes JSON: no spaces, keys in the order given, UTF-8."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _payload(item: dict[str, Any]) -> bytes:
    if "payload" in item:
        return compact_json(item["payload"])
    if "text" in item:
        return str(item["text"]).encode()
    return bytes.fromhex(item["hex"])


def load(kind: str) -> list[Vector]:
    document = json.loads((VECTORS_DIR / f"{kind}.json").read_text())
    return [
        Vector(
            name=item["name"],
            topic=item["topic"],
            payload=_payload(item),
            now_ms=document["now_ms"],
            type=item.get("type"),
            expected=item["payload"] if kind == "valid" else None,
            reason=item.get("reason"),
            detail_contains=item.get("detail_contains"),
            document=item.get("payload"),
        )
        for item in document["vectors"]
    ]


VALID: Final = load("valid")
INVALID: Final = load("invalid")
