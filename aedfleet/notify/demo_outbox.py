"""The demo's SMS outbox: every message that would go out, appended to a local file and
clearly labelled, so `make demo` shows what the duty officer's phone would receive."""

from __future__ import annotations

import time
from pathlib import Path

from aedfleet.notify.messages import Notification


class FileOutboxNotifier:
    name = "demo-outbox"

    def __init__(self, path: Path) -> None:
        self._path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    async def send(self, notification: Notification) -> str:
        stamp = time.strftime("%H:%M:%S")
        with self._path.open("a", encoding="utf-8") as handle:
            handle.write(f"[{stamp}] DEMO SMS to {notification.recipient}: {notification.text}\n")
        return notification.key
