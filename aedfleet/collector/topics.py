"""Pure topic handling: `<prefix>/v1/<cabinet_id>/<kind>` to and from its parts."""

from __future__ import annotations

import re
from typing import Final, Literal

import msgspec

from aedfleet.collector.protocol import (
    CABINET_ID_PATTERN,
    KINDS,
    PROTOCOL_VERSION,
    RESERVED_ID_PREFIX,
)

DEFAULT_PREFIX: Final = "aed"
VERSION_SEGMENT: Final = f"v{PROTOCOL_VERSION}"
_CABINET_ID = re.compile(CABINET_ID_PATTERN)


class TopicParts(msgspec.Struct, frozen=True):
    cabinet_id: str
    kind: str


class TopicError(msgspec.Struct, frozen=True):
    """Why a topic is not one of ours; `code` is a rejection code from validate.py."""

    code: Literal["bad_topic", "bad_cabinet_id", "unsupported_version"]
    detail: str


def is_cabinet_id(text: str) -> bool:
    return _CABINET_ID.match(text) is not None


def topic_for(cabinet_id: str, kind: str, prefix: str = DEFAULT_PREFIX) -> str:
    return f"{prefix}/{VERSION_SEGMENT}/{cabinet_id}/{kind}"


def subscription(kind: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The wildcard filter for one kind across the whole fleet."""
    return f"{prefix}/{VERSION_SEGMENT}/+/{kind}"


def parse_topic(topic: str, prefix: str = DEFAULT_PREFIX) -> TopicParts | TopicError:
    head = prefix + "/"
    if not topic.startswith(head):
        return TopicError("bad_topic", f"topic does not start with {head!r}")
    parts = topic[len(head) :].split("/")
    if len(parts) != 3:
        return TopicError("bad_topic", f"expected {head}<version>/<cabinet_id>/<kind>")
    version, cabinet_id, kind = parts
    if version != VERSION_SEGMENT:
        return TopicError("unsupported_version", f"topic version {version!r} is not v1")
    if not is_cabinet_id(cabinet_id):
        return TopicError(
            "bad_cabinet_id",
            "cabinet id in topic must be 3-32 of a-z 0-9 and '-', starting and ending "
            f"with a letter or digit, and not starting {RESERVED_ID_PREFIX!r}",
        )
    if kind not in KINDS:
        return TopicError("bad_topic", f"unknown message kind {kind!r}; one of {KINDS}")
    return TopicParts(cabinet_id, kind)
