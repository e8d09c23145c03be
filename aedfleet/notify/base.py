"""What every notifier shares: the message to send and how a send can end."""

from __future__ import annotations

from typing import Protocol

import msgspec


class Notification(msgspec.Struct, frozen=True):
    key: str  # idempotency key of (alert, transition, recipient)
    recipient: str  # a phone number in E.164, or "webhook"
    text: str
    cabinet_id: str
    rule: str
    kind: str
    severity: str


class RetryableError(Exception):
    """Transport error, 5xx or 429: the provider did not take the message; try again."""


class PermanentError(Exception):
    """The provider refused the message for good (bad number, bad credentials)."""


class UnknownOutcomeError(Exception):
    """The request went out but no answer came back (a timeout): it may have been sent, so it
    is never repeated blindly."""


class Notifier(Protocol):
    name: str

    async def send(self, notification: Notification) -> str:
        """Send; returns the provider's message id, or raises one of the errors above."""
        ...


def classify_status(status: int, body: str) -> None:
    """Raise the right error for a provider's HTTP status; return for 2xx."""
    if 200 <= status < 300:
        return
    if status == 429 or status >= 500:
        raise RetryableError(f"provider answered {status}: {body[:200]}")
    raise PermanentError(f"provider answered {status}: {body[:200]}")
