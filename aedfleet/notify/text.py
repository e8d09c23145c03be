"""Pure: the words of a notification, in Chinese and/or English: which cabinet, where, what,
since when. What a rule is called in Chinese is the rule's own (alerts/rules.py), handed in as
`what_zh`; without it the Chinese text says the finding's summary."""

from __future__ import annotations

import datetime
from typing import Final

from aedfleet.collector.inventory import Cabinet
from aedfleet.notify.messages import Transition

KINDS_ZH: Final = {
    "firing": "",
    "repeat": "（未确认，重复提醒）",
    "escalated": "（升级）",
    "resolved": "已恢复：",
    "acknowledged": "已确认：",
}
KINDS_EN: Final = {
    "firing": "",
    "repeat": " (not yet acknowledged)",
    "escalated": " (escalated)",
    "resolved": "RESOLVED: ",
    "acknowledged": "ACKNOWLEDGED: ",
}


def _local_time(at_ms: int, utc_offset_minutes: int) -> str:
    moment = datetime.datetime.fromtimestamp(at_ms / 1000, datetime.UTC)
    return (moment + datetime.timedelta(minutes=utc_offset_minutes)).strftime("%m-%d %H:%M")


def compose(
    transition: Transition,
    cabinet: Cabinet | None,
    *,
    what_zh: str = "",
    language: str = "zh+en",
    utc_offset_minutes: int = 480,
) -> str:
    name = cabinet.name if cabinet else transition.cabinet_id
    where_zh = f"{cabinet.district} {cabinet.address}" if cabinet else "位置未登记"
    where_en = f"{cabinet.site}, {cabinet.district}" if cabinet else "location not registered"
    since = _local_time(transition.since_ms, utc_offset_minutes)
    parts = []
    if "zh" in language:
        prefix = KINDS_ZH.get(transition.kind, "")
        suffix = "" if transition.kind in ("resolved", "acknowledged") else "请尽快处理。"
        if transition.kind.startswith(("repeat", "escalated")):
            prefix, suffix = "", KINDS_ZH[transition.kind] + suffix
        what = what_zh or transition.summary
        parts.append(f"【AED】{prefix}{name}（{where_zh}）：{what}，自{since}起。{suffix}")
    if "en" in language:
        prefix = KINDS_EN.get(transition.kind, "")
        suffix = KINDS_EN[transition.kind] if transition.kind in ("repeat", "escalated") else ""
        if suffix:
            prefix = ""
        parts.append(
            f"[AED] {prefix}{name} ({where_en}): {transition.summary} since {since}{suffix}."
        )
    return " ".join(parts)
