"""The one error broker configuration raises."""

from __future__ import annotations


class BrokerConfigError(ValueError):
    """The broker configuration cannot be made; the message says why."""
