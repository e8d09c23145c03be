"""The firmware's own modules (firmware/*.py), imported by their flat names as the board
imports them, so the simulator runs exactly the code that is flashed. MicroPython code with
no type hints: typed as Any here."""

from __future__ import annotations

import importlib
import sys
from typing import Any

from aedfleet.firmware_tools import FIRMWARE_DIR

if str(FIRMWARE_DIR) not in sys.path:
    sys.path.insert(0, str(FIRMWARE_DIR))

app: Any = importlib.import_module("app")
board_sim: Any = importlib.import_module("board_sim")
cabinet: Any = importlib.import_module("cabinet")
config: Any = importlib.import_module("config")
link: Any = importlib.import_module("link")
report: Any = importlib.import_module("report")
