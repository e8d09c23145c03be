"""A board reflashed over USB runs what was flashed: `aedfleet firmware flash`'s first step,
run here by the real MicroPython unix port in a folder standing for the board's flash,
removes the update slots and their state as well as the stale sources."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from aedfleet.firmware_tools import _hold_and_check, micropython_command

pytestmark = pytest.mark.micropython


def test_a_usb_flash_clears_the_update_slots(tmp_path: Path) -> None:
    (tmp_path / "slots.json").write_text('{"good": "a"}')
    for slot in ("slot_a", "slot_b"):
        (tmp_path / slot).mkdir()
        (tmp_path / slot / "app.mpy").write_bytes(b"M")
        (tmp_path / slot / "link.py.part").write_bytes(b"x")
    (tmp_path / "app.py").write_text("# stale")
    (tmp_path / "config.json").write_text("{}")
    result = subprocess.run(
        [micropython_command(), "-c", _hold_and_check(["app.py"])],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("MPY ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "hold"]
