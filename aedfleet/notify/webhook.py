"""A generic JSON webhook: POST the notification with an Idempotency-Key header, signed as the
Standard Webhooks convention says, so the receiver can tell it came from this collector:
`webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature: v1,<base64 of
HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`. The key is `[notify] webhook_secret` (prefer
AEDFLEET_NOTIFY_WEBHOOK_SECRET): a `whsec_<base64>` secret is decoded, any other is its UTF-8
bytes."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable
from typing import Final

import aiohttp
import msgspec

from aedfleet.collector.clock import wall_ms
from aedfleet.notify.http import request
from aedfleet.notify.messages import Notification

MIN_SECRET_CHARS: Final = 24


def signing_key(secret: str) -> bytes:
    if len(secret) < MIN_SECRET_CHARS:
        raise ValueError(f"notify.webhook_secret must be at least {MIN_SECRET_CHARS} characters")
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error as error:
            raise ValueError("notify.webhook_secret: whsec_ must be followed by base64") from error
    return secret.encode()


def signature_headers(key: bytes, message_id: str, timestamp_s: int, body: bytes) -> dict[str, str]:
    signed = f"{message_id}.{timestamp_s}.".encode() + body
    digest = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp_s),
        "webhook-signature": f"v1,{digest}",
    }


class WebhookNotifier:
    name = "webhook"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        url: str,
        secret: str,
        timeout_s: float = 10.0,
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        self._session = session
        self._url = url
        self._key = signing_key(secret)
        self._timeout_s = timeout_s
        self._clock = clock

    async def send(self, notification: Notification) -> str:
        body = msgspec.json.encode(notification)
        signed = signature_headers(self._key, notification.key, self._clock() // 1000, body)
        await request(
            self._session, "POST", self._url, data=body,
            headers={"Content-Type": "application/json", "Idempotency-Key": notification.key,
                     **signed},
            timeout_s=self._timeout_s,
        )  # fmt: skip
        return notification.key
