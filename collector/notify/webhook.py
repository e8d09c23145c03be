"""A generic JSON webhook: POST the notification with an Idempotency-Key header."""

from __future__ import annotations

import aiohttp
import msgspec

from collector.notify.base import Notification
from collector.notify.http import request


class WebhookNotifier:
    name = "webhook"

    def __init__(self, session: aiohttp.ClientSession, *, url: str, timeout_s: float = 10.0):
        self._session = session
        self._url = url
        self._timeout_s = timeout_s

    async def send(self, notification: Notification) -> str:
        await request(
            self._session, "POST", self._url,
            data=msgspec.json.encode(notification),
            headers={"Content-Type": "application/json", "Idempotency-Key": notification.key},
            timeout_s=self._timeout_s,
        )  # fmt: skip
        return notification.key
