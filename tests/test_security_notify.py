"""Issue 14, item 13: webhooks are signed (Standard Webhooks: HMAC-SHA256 over id, timestamp
and body, checked here independently by a real local HTTP receiver), and no provider or webhook
URL sends alerts in clear across a network."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import aiohttp
import msgspec
import pytest
from aiohttp import web

from aedfleet.alerts.shell import check_notify
from aedfleet.collector.config import CollectorConfig, ConfigError
from aedfleet.notify.messages import Notification
from aedfleet.notify.webhook import WebhookNotifier
from aedfleet.services import free_port

SECRET = "a-webhook-secret-of-enough-length"
NOTE = Notification("bz-bc-001:opened:1:firing:0:webhook", "webhook", "door opened",
                    "bz-bc-001", "opened", "firing", "critical")  # fmt: skip


def config(**sections: dict[str, Any]) -> CollectorConfig:
    return msgspec.convert(sections, CollectorConfig)


@pytest.mark.asyncio
async def test_a_webhook_carries_a_signature_the_receiver_can_check() -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    async def receive(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession() as session:
            notifier = WebhookNotifier(session, url=f"http://127.0.0.1:{port}/hook", secret=SECRET,
                                       clock=lambda: 1_796_000_000_123)  # fmt: skip
            await notifier.send(NOTE)
    finally:
        await runner.cleanup()
    headers, body = received[0]
    assert headers["webhook-id"] == NOTE.key and headers["webhook-timestamp"] == "1796000000"
    signed = f"{NOTE.key}.1796000000.".encode() + body
    expected = base64.b64encode(hmac.new(SECRET.encode(), signed, hashlib.sha256).digest())
    assert headers["webhook-signature"] == "v1," + expected.decode()
    assert msgspec.json.decode(body)["text"] == "door opened"


def test_webhooks_and_providers_must_not_go_in_clear_over_a_network() -> None:
    refused = [
        {"notify": {"webhook_url": "http://hooks.example.org/x", "webhook_secret": SECRET}},
        {"notify": {"webhook_url": "https://hooks.example.org/x"}},  # unsigned
        {"notify": {"webhook_url": "https://hooks.example.org/x", "webhook_secret": "short"}},
        {"notify": {"sms_provider": "twilio"}, "twilio": {"base_url": "http://10.0.0.9"}},
        {"notify": {"sms_provider": "aliyun"}, "aliyun": {"endpoint": "http://sms.example"}},
    ]
    for sections in refused:
        with pytest.raises(ConfigError):
            check_notify(config(**sections))
    allowed = [
        {"notify": {"webhook_url": "https://hooks.example.org/x", "webhook_secret": SECRET}},
        {"notify": {"webhook_url": "http://127.0.0.1:8080/x", "webhook_secret": SECRET}},
        {"notify": {"sms_provider": "twilio"}, "twilio": {"base_url": "http://localhost:9"}},
        {"notify": {"sms_provider": "aliyun"}},
    ]
    for sections in allowed:
        check_notify(config(**sections))
