"""Every connection a simulated cabinet's firmware opens, so a stopped cabinet closes them all.

On the board a reset ends every socket. Here the firmware runs on CPython's asyncio, whose
`wait_for` (3.11) drops a connection that completes just as the wait is cancelled: its socket
stays open until the garbage collector finds it and warns, in whatever runs next. The firmware
waits for its connects with `wait_for`, and a stopping fleet cancels cabinets mid-connect. So
the firmware's `asyncio` (answered by the simulator's loader) is the real module except for
`open_connection`, which records each connection under the cabinet whose task opened it."""

from __future__ import annotations

import asyncio
import contextvars
import types
from typing import Any, Final

# the connections of the cabinet whose task is running (set when its task is created)
OWNER: Final[contextvars.ContextVar[list[asyncio.StreamWriter] | None]] = contextvars.ContextVar(
    "simulated_cabinet_connections", default=None
)


async def open_connection(*args: Any, **kwargs: Any) -> tuple[Any, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(*args, **kwargs)
    owned = OWNER.get()
    if owned is not None:  # recorded before anything can cancel the caller
        owned[:] = [w for w in owned if not w.is_closing()]
        owned.append(writer)
    return reader, writer


def firmware_asyncio() -> types.ModuleType:
    """asyncio as the simulated firmware sees it."""
    module = types.ModuleType("asyncio", asyncio.__doc__)
    module.__dict__.update({k: v for k, v in vars(asyncio).items() if not k.startswith("__")})
    module.open_connection = open_connection  # type: ignore[attr-defined]
    return module


def close_all(owned: list[asyncio.StreamWriter]) -> None:
    """Close what the cabinet's firmware left open (the loop closes the sockets next turn)."""
    for writer in owned:
        if not writer.is_closing():
            writer.close()
    owned.clear()
