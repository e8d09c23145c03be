"""Pure: the words a responder receives, in their language (zh or en): where the cabinet is,
that someone nearby may need CPR, to call 120; and the stand-down after a false alarm."""

from __future__ import annotations

from aedfleet.collector.inventory import Cabinet


def call_out(cabinet: Cabinet, language: str) -> str:
    if language == "en":
        return (f"[AED first aid] Someone near {cabinet.name} ({cabinet.site}, "
                f"{cabinet.address}, {cabinet.district}) may need CPR: the AED has just been "
                "taken from its cabinet. Go if you can. Call 120 if no one has.")  # fmt: skip
    return (f"【AED急救】{cabinet.name}（{cabinet.site}，{cabinet.district}{cabinet.address}）"
            "的AED刚被取出，附近可能有人需要心肺复苏。如方便请前往协助；如无人拨打120，"
            "请立即拨打120。")  # fmt: skip


def stand_down(cabinet: Cabinet, language: str) -> str:
    if language == "en":
        return (f"[AED first aid] Stand down: the opening at {cabinet.name} was a false alarm. "
                "Thank you.")  # fmt: skip
    return f"【AED急救】解除：{cabinet.name}的开柜为误报，无需前往。谢谢！"


def duty_note(alerted: int, nearest_m: float | None, language: str) -> str:
    """What the duty officers' SMS adds: how many responders were alerted."""
    parts = []
    near = nearest_m is not None
    if "zh" in language:
        parts.append(
            f"已通知附近{alerted}名急救员" + (f"，最近{nearest_m:.0f}米。" if near else "。")
        )
    if "en" in language:
        parts.append(
            f"{alerted} responders alerted" + (f", nearest {nearest_m:.0f} m." if near else ".")
        )
    return " ".join(parts)
