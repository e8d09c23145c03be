"""The CJK font the report renders with: a TrueType collection from Debian's packages
(`make setup` installs fonts-wqy-microhei), so Chinese renders in the charts and the PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Final

CANDIDATES: Final = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),  # fonts-wqy-microhei
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),  # fonts-noto-cjk
)


class FontMissingError(Exception):
    """No CJK font is installed; the message says which package to install."""


def cjk_font() -> Path:
    for path in CANDIDATES:
        if path.exists():
            return path
    raise FontMissingError(
        "no CJK font found (looked for "
        + ", ".join(str(p) for p in CANDIDATES)
        + "); install fonts-wqy-microhei (make setup does)"
    )
