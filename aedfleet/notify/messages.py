"""What alerts/ and notify/ share, and all they share: the transition the alert engine hands
over, the notification a notifier sends, and how a send can end.

alerts/ imports notify/ (this module, the router, the texts, the send queue and the providers);
nothing in notify/ imports alerts/.
"""

from __future__ import annotations

from typing import Literal, Protocol

import msgspec

Severity = Literal["critical", "high", "warning", "info"]
Role = Literal["duty", "guardian", "technician"]  # who is told of a rule's alerts
TransitionKind = Literal["firing", "repeat", "escalated", "acknowledged", "resolved", "info"]


class Transition(msgspec.Struct, frozen=True):
    """One change of an alert (or an audit fact, rule "audit", kind "info")."""

    cabinet_id: str
    rule: str
    kind: TransitionKind
    severity: Severity
    summary: str
    since_ms: int
    at_ms: int
    number: int = 0  # repeats and escalations count up, so each has its own idempotency key
    silenced: bool = False

    @property
    def key(self) -> str:
        """The idempotency key of this (alert, transition)."""
        return f"{self.cabinet_id}:{self.rule}:{self.since_ms}:{self.kind}:{self.number}"


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
