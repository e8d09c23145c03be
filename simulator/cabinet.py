"""A simulated cabinet: the firmware's own App (firmware/app.py) on the simulated board
(firmware/board_sim.py), speaking the real protocol over its own MQTT connection."""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aedfleet.firmware_tools import FIRMWARE_DIR

if str(FIRMWARE_DIR) not in sys.path:
    sys.path.insert(0, str(FIRMWARE_DIR))  # the firmware's flat modules, as on the board
# MicroPython code with no type hints: imported by name, so it stays exactly what the board runs
firmware_app = importlib.import_module("app")
board_sim = importlib.import_module("board_sim")
firmware_config = importlib.import_module("config")


class SimulatedCabinet:
    def __init__(
        self,
        cabinet_id: str,
        *,
        broker: str,
        password: str,
        data_dir: Path,
        log: Callable[[str], None],
        **settings: Any,
    ) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.cabinet_id = cabinet_id
        self.board = board_sim.Board(commands=False)
        config = firmware_config.merge(
            {
                "id": cabinet_id,
                "broker": broker,
                "username": cabinet_id,
                "password": password,
                "data_dir": str(data_dir),
                **settings,
            }
        )
        self.app = firmware_app.App(
            config, self.board, log=lambda line: log(f"{cabinet_id} {line}")
        )
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.app.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.app.link.close()

    def set(self, switch: str, value: bool) -> None:
        """Flip a simulated switch: door, aed, maint, mains, tamper."""
        self.board.levels[switch] = value
